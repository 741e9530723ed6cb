using System.CommandLine;
using Mvar.Config;
using Mvar.Tokenizer;

namespace Mvar.Cli.Commands;

/// <summary>The options that choose and load a tokenizer: exactly one of --config / --preset, --resolution, and --vae.</summary>
public sealed class TokenizerOptions
{
    public readonly Option<string?> Config = new("--config") { Description = "model configuration JSON (needs a \"tokenizer\" section)" };
    public readonly Option<string?> Preset = new("--preset")
    {
        Description =
        $"a shipped model ({string.Join(", ", ShippedModel.Names)}) or a built-in configuration: {string.Join(", ", Presets.All.Keys)}"
    };
    public readonly Option<int?> Resolution = ModelOptions.NewResolutionOption();
    public readonly Option<string?> Vae = new("--vae")
    {
        Description =
        "tokenizer checkpoint (VQ-VAE state dict, e.g. vae_ch160v4096z32.pth; default with a shipped --preset: its tokenizer)"
    };

    public void AddTo(Command cmd) { cmd.Options.Add(Config); cmd.Options.Add(Preset); cmd.Options.Add(Resolution); cmd.Options.Add(Vae); }

    /// <summary>The whole configuration chosen on the command line (the tokenizer commands use its tokenizer section).</summary>
    public ModelConfig ResolveModelConfig(ParseResult p) => ModelOptions.Choose(p.GetValue(Config), p.GetValue(Preset), p.GetValue(Resolution));

    /// <summary>The tokenizer configuration chosen on the command line.</summary>
    public TokenizerConfig ResolveConfig(ParseResult p) => ResolveModelConfig(p).Tokenizer;

    /// <summary>The tokenizer with its checkpoint loaded.</summary>
    public VqVae Load(ParseResult p)
    {
        var config = ResolveConfig(p);
        return VqVaeLoader.Load(config, ModelOptions.VaePath(p.GetValue(Vae), p.GetValue(Preset)));
    }

    /// <summary>
    /// Fails early (before long work) when an output file could not be written: an empty name, a missing folder, or a
    /// directory, FIFO or device at the path (see <see cref="Mvar.IO.AtomicFile"/>).
    /// </summary>
    public static void CheckWritable(string path) => Mvar.IO.AtomicFile.CheckTarget(path);
}
