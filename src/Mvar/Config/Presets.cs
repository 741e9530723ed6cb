namespace Mvar.Config;

/// <summary>Built-in configurations of the official checkpoints, and the official schedules of 256, 512 and 1024 px.</summary>
public static class Presets
{
    /// <summary>
    /// The token-map sides of the official schedules (<c>utils/arg_util.py</c> of VAR and MVAR, <c>--pn</c>): the latent
    /// side is the last entry, the image 16 times that (the tokenizer down-samples 16x at every resolution).
    /// </summary>
    public static IReadOnlyDictionary<int, int[]> Schedules { get; } = new Dictionary<int, int[]>
    {
        [256] = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
        [512] = [1, 2, 3, 4, 6, 9, 13, 18, 24, 32],
        [1024] = [1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64],
    };

    /// <summary>The official schedule of <paramref name="resolution"/> px; a <see cref="ConfigException"/> for any other size.</summary>
    public static int[] PatchNums(int resolution) =>
        Schedules.TryGetValue(resolution, out var pn) ? pn.ToArray()
            : throw new ConfigException($"resolution must be {string.Join(", ", Schedules.Keys.Order())}, got {resolution}");

    /// <summary>VAR's tokenizer <c>vae_ch160v4096z32.pth</c> (shared by every official VAR and MVAR model, at every resolution).</summary>
    public static TokenizerConfig Vae256 => new();

    /// <summary>
    /// An official VAR/MVAR backbone: width 64 x depth, one head per 64 channels, L2-normalised attention
    /// (<c>build_vae_var</c>). MVAR's <c>refine_step</c> 8 and <c>kernel_size</c> 7 are the official code's fixed
    /// defaults at every resolution (at 512 px neighbourhood attention starts at 24x24, at 1024 px at 16x16).
    /// </summary>
    static ModelConfig Official(Architecture arch, int depth, int resolution = 256, bool sharedAln = false) => new()
    {
        Tokenizer = Vae256 with { PatchNums = PatchNums(resolution) },
        Transformer = new TransformerConfig
        {
            Arch = arch, Depth = depth, EmbedDim = 64 * depth, NumHeads = depth, NumClasses = 1000,
            MlpRatio = 4.0, NormEps = 1e-6, AttnL2Norm = true, SharedAln = sharedAln, KernelSize = 7, RefineStep = 8,
        },
    };

    public static IReadOnlyDictionary<string, ModelConfig> All { get; } = new Dictionary<string, ModelConfig>
    {
        ["vae-ch160v4096z32"] = new ModelConfig { Tokenizer = Vae256 },
        ["var-d16"] = Official(Architecture.Var, 16),
        ["var-d20"] = Official(Architecture.Var, 20),
        ["var-d24"] = Official(Architecture.Var, 24),
        ["var-d30"] = Official(Architecture.Var, 30),
        // var_d36.pth: the 512 px model of the VAR model zoo ("d36-s": shared AdaLN, train.py --saln=1 --pn=512)
        ["var-d36-512"] = Official(Architecture.Var, 36, 512, sharedAln: true),
        ["mvar-d16"] = Official(Architecture.Mvar, 16),
        ["mvar-d20"] = Official(Architecture.Mvar, 20),
        ["mvar-d24"] = Official(Architecture.Mvar, 24),
    };

    public static ModelConfig Get(string name) =>
        All.TryGetValue(name, out var c) ? c
            : throw new ConfigException($"unknown preset \"{name}\"; known presets: {string.Join(", ", All.Keys)}");

    /// <summary>
    /// Preset <paramref name="name"/> at <paramref name="resolution"/> px (null: its own): the same tokenizer and
    /// transformer with the official schedule of that size. A preset whose name carries its size (var-d36-512) is
    /// fixed at that size.
    /// </summary>
    public static ModelConfig Get(string name, int? resolution)
    {
        var c = Get(name);
        if (resolution is not { } r || r == c.Tokenizer.ImageSize) return c;
        var patchNums = PatchNums(r);
        if (FixedResolution(name) is { } fixedAt)
            throw new
                ConfigException($"preset {name} is the {fixedAt} px checkpoint's configuration and has no {r} px variant (another size needs a "
                + $"configuration with its own tokenizer.patch_nums)");
        var scaled = c with { Tokenizer = c.Tokenizer with { PatchNums = patchNums } };
        scaled.Validate();
        return scaled;
    }

    /// <summary>The size a preset's name ends with ("var-d36-512": 512), or null.</summary>
    public static int? FixedResolution(string name) =>
        Schedules.Keys.Where(r => name.EndsWith($"-{r}", StringComparison.Ordinal)).Select(r => (int?)r).FirstOrDefault();

    /// <summary>
    /// Every built-in preset at every official resolution it can take: the preset itself under its name, and the
    /// others as "NAME --resolution R" (what <c>mvar inspect</c> reports a checkpoint to match).
    /// </summary>
    public static IReadOnlyDictionary<string, ModelConfig> AllResolutions()
    {
        var result = new Dictionary<string, ModelConfig>();
        foreach (var (name, config) in All)
        {
            result[name] = config;
            if (FixedResolution(name) != null) continue;
            foreach (int r in Schedules.Keys.Where(r => r != config.Tokenizer.ImageSize))
                if (config.Transformer != null) result[$"{name} --resolution {r}"] = Get(name, r);
        }
        return result;
    }
}
