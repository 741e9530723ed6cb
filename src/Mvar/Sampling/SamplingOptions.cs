namespace Mvar.Sampling;

/// <summary>
/// How tokens are drawn. The defaults are the official demo settings (cfg <see cref="DefaultCfg"/>, top-k
/// <see cref="OfficialTopK"/>, top-p <see cref="DefaultTopP"/>) and live here only: the CLI's options, the server's
/// request reader and its page all take them from this type, so that they cannot drift apart.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>The official demo's guidance strength.</summary>
    public const double DefaultCfg = 1.5;
    /// <summary>The official demo's top-k; models with a smaller vocabulary use the whole vocabulary (<see cref="DefaultTopK"/>).</summary>
    public const int OfficialTopK = 900;
    /// <summary>The official demo's nucleus threshold.</summary>
    public const double DefaultTopP = 0.96;
    /// <summary>The seed of runs that must be reproducible without one being given (benchmarks, comparisons, analyses).</summary>
    public const ulong DefaultSeed = 0;
    /// <summary>Strongest guidance accepted: beyond it the ramped logits only saturate (the CLI's and the server's limit alike).</summary>
    public const double MaxCfg = 20;

    /// <summary>Classifier-free guidance strength; ramped linearly over the scales: t = cfg * si / (K - 1).</summary>
    public double Cfg { get; init; } = DefaultCfg;
    /// <summary>Keep the k largest logits (0: no top-k; 1: greedy).</summary>
    public int TopK { get; init; } = OfficialTopK;
    /// <summary>Nucleus sampling threshold in [0, 1] (0: off).</summary>
    public double TopP { get; init; } = DefaultTopP;
    /// <summary>Seed of the torch-compatible generator; null: a random seed (reported in the result).</summary>
    public ulong? Seed { get; init; }
    /// <summary>
    /// Feed the next scale a Gumbel-softmax mixture of codebook vectors instead of the drawn token (official
    /// more_smooth, visualisation only).
    /// </summary>
    public bool MoreSmooth { get; init; }

    /// <summary>The top-k used when none is given: the official 900, or the whole vocabulary when it is smaller.</summary>
    public static int DefaultTopK(int vocabSize) => Math.Min(OfficialTopK, vocabSize);

    /// <summary>The defaults for a model of <paramref name="vocabSize"/> tokens (top-k clamped to the vocabulary), seed random.</summary>
    public static SamplingOptions Default(int vocabSize) => new() { TopK = DefaultTopK(vocabSize) };

    /// <summary>Null when <paramref name="cfg"/> is acceptable, else the problem, naming <paramref name="field"/>.</summary>
    public static string? CheckCfg(double cfg, string field = "cfg") =>
        cfg >= 0 && cfg <= MaxCfg ? null : $"{field} must be within [0, {MaxCfg}], got {cfg}";

    /// <summary>Null when <paramref name="topK"/> is acceptable (with <paramref name="vocabSize"/>: within [0, vocabulary]), else the problem.</summary>
    public static string? CheckTopK(long topK, int? vocabSize, string field = "top-k") => vocabSize is int v
        ? topK >= 0 && topK <= v ? null : $"{field} must be within [0, {v}] (the vocabulary), got {topK}"
        : topK >= 0 ? null : $"{field} must be >= 0, got {topK}";

    /// <summary>Null when <paramref name="topP"/> is within [0, 1], else the problem, naming <paramref name="field"/>.</summary>
    public static string? CheckTopP(double topP, string field = "top-p") =>
        topP >= 0 && topP <= 1 ? null : $"{field} must be within [0, 1], got {topP}";

    /// <summary>Checks cfg, top-k and top-p; with <paramref name="vocabSize"/> also that top-k is within [0, vocabulary].</summary>
    public void Validate(int? vocabSize = null)
    {
        if ((CheckCfg(Cfg) ?? CheckTopK(TopK, vocabSize) ?? CheckTopP(TopP)) is { } problem) throw new MvarException(problem);
    }
}
