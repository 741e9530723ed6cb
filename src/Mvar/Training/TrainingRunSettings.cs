using Mvar.Data;

namespace Mvar.Training;

/// <summary>
/// What starts a training run of either kind, as plain values (the CLI fills them from its options): the run folder,
/// whether to continue the run saved there, the configuration of a new run and the data. A resumed run takes what it
/// recorded (configuration, data set, limit) for whatever is left null here, so that continuing needs nothing again.
/// </summary>
public abstract record TrainingRunSettings
{
    /// <summary>The run folder: checkpoint.pth, model.pth, metrics.csv, TensorBoard events, images.</summary>
    public required string RunDir { get; init; }
    /// <summary>Continue the run saved in <see cref="RunDir"/> (exactly: the same losses as an uninterrupted run).</summary>
    public bool Resume { get; init; }
    /// <summary>A new run's configuration JSON (tokenizer, [transformer], [training]); a resumed run uses its saved one.</summary>
    public string? ConfigFile { get; init; }
    /// <summary>The data set specification (<see cref="DataSets.Open"/>); null on a resumed run: the recorded one.</summary>
    public string? Data { get; init; }
    /// <summary>Folder for the uncompressed copies of .gz data files (null: the system temp folder).</summary>
    public string? DataCache { get; init; }
    /// <summary>Only the first N images of the data set; null on a resumed run: the recorded limit, if any.</summary>
    public int? Limit { get; init; }
    /// <summary>What an unreadable image does.</summary>
    public BadFilePolicy BadFiles { get; init; } = BadFilePolicy.Stop;
}

/// <summary>Where a run's set-up reports, rank 0 only (all optional; the library writes no console).</summary>
public sealed record TrainingRunHooks
{
    /// <summary>Something worth knowing that changes nothing (a temporary file removed, a setting ignored).</summary>
    public Action<string>? Note { get; init; }
    /// <summary>A problem the run goes on past (an unreadable image skipped).</summary>
    public Action<string>? Warn { get; init; }
    /// <summary>
    /// Transformer runs: builds the token cache that rank 0 finds missing, normally <see cref="SharedTokenCache.Build"/>
    /// under a progress display (null: built without one).
    /// </summary>
    public Func<SharedTokenCache, TokenCache>? BuildTokenCache { get; init; }
    /// <summary>Transformer runs: a matching token cache found on disk.</summary>
    public Action<SharedTokenCache, TokenCache>? FoundTokenCache { get; init; }
}
