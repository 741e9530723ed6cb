namespace Mvar.Config;

/// <summary>Built-in configurations of the official checkpoints.</summary>
public static class Presets
{
    /// <summary>VAR's tokenizer <c>vae_ch160v4096z32.pth</c> (shared by every official VAR and MVAR model).</summary>
    public static TokenizerConfig Vae256 => new();

    static ModelConfig Official(string arch, int depth) => new()
    {
        Tokenizer = Vae256,
        Transformer = new TransformerConfig
        {
            Arch = arch, Depth = depth, EmbedDim = 64 * depth, NumHeads = depth, NumClasses = 1000,
            MlpRatio = 4.0, NormEps = 1e-6, AttnL2Norm = true, SharedAln = false, KernelSize = 7, RefineStep = 8,
        },
    };

    public static IReadOnlyDictionary<string, ModelConfig> All { get; } = new Dictionary<string, ModelConfig>
    {
        ["vae-ch160v4096z32"] = new ModelConfig { Tokenizer = Vae256 },
        ["var-d16"] = Official("var", 16),
        ["var-d20"] = Official("var", 20),
        ["var-d24"] = Official("var", 24),
        ["var-d30"] = Official("var", 30),
        ["mvar-d16"] = Official("mvar", 16),
        ["mvar-d20"] = Official("mvar", 20),
        ["mvar-d24"] = Official("mvar", 24),
    };

    public static ModelConfig Get(string name) =>
        All.TryGetValue(name, out var c) ? c
            : throw new ConfigException($"unknown preset \"{name}\"; known presets: {string.Join(", ", All.Keys)}");
}
