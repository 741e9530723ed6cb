using Mvar.Config;

namespace Mvar.Training;

/// <summary>
/// What a transformer run records in its checkpoint's info (<see cref="Trainer.Info"/>) beside the configuration, so
/// that <c>--resume</c> needs no flag again: the data set, the architecture, the tokenizer and token cache files, the
/// mask choice and the initial weights. Typed here so that the keys and their formats are written in one place.
/// Files are recorded relative to the run folder (a moved or copied run folder still finds the files that moved with
/// it) and, under KEY_abs, absolute (for the files that stayed).
/// </summary>
public sealed record TransformerRunInfo
{
    const string DataKey = "data", ArchKey = "arch", VaeKey = "vae", CacheKey = "cache", VarMaskKey = "var_mask_in_small_group", InitKey = "init_from";
    /// <summary>The token cache of a run that names none: in its folder.</summary>
    public const string DefaultCacheFile = "tokens.cache";

    /// <summary>The data set specification, absolute (<see cref="Data.DataSets.Absolute"/>).</summary>
    public string? Data { get; init; }
    public Architecture? Arch { get; init; }
    /// <summary>The tokenizer checkpoint that made the token maps.</summary>
    public string? Vae { get; init; }
    /// <summary>The token-map cache file.</summary>
    public string? Cache { get; init; }
    /// <summary>VAR's block-causal mask in MVAR's small-scale group (as the official strict load of a VAR checkpoint).</summary>
    public bool VarMaskInSmallGroup { get; init; }
    /// <summary>The weights the run started from, if not random.</summary>
    public string? InitFrom { get; init; }

    /// <summary>What the run in <paramref name="runDir"/> recorded (members it did not record are null).</summary>
    public static TransformerRunInfo Read(IReadOnlyDictionary<string, string> info, string runDir) => new()
    {
        Data = info.GetValueOrDefault(DataKey),
        Arch = info.TryGetValue(ArchKey, out var a) ? Architectures.Parse(a, $"the arch recorded in {runDir}") : null,
        Vae = StoredPath(info, VaeKey, runDir),
        Cache = StoredPath(info, CacheKey, runDir),
        VarMaskInSmallGroup = info.GetValueOrDefault(VarMaskKey) == "true",
        InitFrom = StoredPath(info, InitKey, runDir),
    };

    /// <summary>Records these members into <paramref name="info"/> (a checkpoint's) for a run in <paramref name="runDir"/>.</summary>
    public void WriteTo(Dictionary<string, string> info, string runDir)
    {
        if (Data != null) info[DataKey] = Data;
        if (Arch is { } a) info[ArchKey] = a.Name();
        if (Vae != null) StorePath(info, VaeKey, runDir, Vae);
        if (Cache != null) StorePath(info, CacheKey, runDir, Cache);
        info[VarMaskKey] = VarMaskInSmallGroup ? "true" : "false";
        if (InitFrom != null) StorePath(info, InitKey, runDir, InitFrom);
    }

    static void StorePath(Dictionary<string, string> info, string key, string runDir, string file)
    {
        info[key] = Path.GetRelativePath(Path.GetFullPath(runDir), Path.GetFullPath(file));
        info[key + "_abs"] = Path.GetFullPath(file);
    }

    /// <summary>
    /// A recorded path (or, in runs saved before the relative ones, an absolute path): the one relative to the run
    /// folder when that file exists, else the absolute one when that exists, else the relative one.
    /// </summary>
    static string? StoredPath(IReadOnlyDictionary<string, string> info, string key, string runDir)
    {
        if (!info.TryGetValue(key, out var stored)) return null;
        string rel = Path.GetFullPath(Path.Combine(runDir, stored));
        if (File.Exists(rel)) return rel;
        return info.TryGetValue(key + "_abs", out var abs) && File.Exists(abs) ? abs : rel;
    }
}
