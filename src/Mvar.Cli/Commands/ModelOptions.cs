using System.CommandLine;
using Mvar.Config;
using Mvar.Tokenizer;
using Mvar.Transformer;

namespace Mvar.Cli.Commands;

/// <summary>
/// The options that choose and load a tokenizer + transformer pair (sample, edit, analyze): exactly one of
/// --config / --preset, --resolution, --vae, --model, --key, --arch.
/// </summary>
public sealed class ModelOptions
{
    public readonly Option<string?> Config = new("--config") { Description = "model configuration JSON (tokenizer and transformer sections)" };
    public readonly Option<string?> Preset = new("--preset")
    {
        Description =
        $"a shipped model ({string.Join(", ", ShippedModel.Names)}: config and weights) or a built-in configuration: "
        + $"{string.Join(", ", Presets.All.Keys.Where(k => Presets.All[k].Transformer != null))}"
    };
    public readonly Option<string?> Vae = new("--vae")
    {
        Description =
        "tokenizer checkpoint (VQ-VAE state dict; default with a shipped --preset: its tokenizer)"
    };
    public readonly Option<string?> Model = new("--model")
    {
        Description =
        "transformer checkpoint (VAR or MVAR state dict; default with a shipped --preset: its transformer of the chosen --arch)"
    };
    public readonly Option<string?> Key = new("--key")
    {
        Description =
        "key path of the state dict inside the model checkpoint, e.g. mvar_wo_ddp or trainer/mvar_wo_ddp"
    };
    public readonly Option<int?> Resolution = NewResolutionOption();
    public readonly Option<string?> Arch = new("--arch")
    {
        Description =
        "override the configuration's architecture: var or mvar (a VAR checkpoint can be sampled as MVAR and back)"
    };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Config, Preset, Resolution, Vae, Model, Key, Arch }) cmd.Options.Add(o);
    }

    /// <summary>The <c>--resolution</c> option: a built-in preset at another official size (its schedule of token maps).</summary>
    public static Option<int?> NewResolutionOption() => new("--resolution")
    {
        Description = $"image size of a built-in --preset: {string.Join(", ", Presets.Schedules.Keys.Order())} px (the official schedules: " +
                      $"{string.Join("; ", Presets.Schedules.Select(kv => $"{kv.Key}: {string.Join(",", kv.Value)}"))}); default: the preset's own",
    };

    /// <summary>The configuration chosen on the command line, with --resolution and --arch applied.</summary>
    public ModelConfig ResolveConfig(ParseResult p) => ResolveConfig(p.GetValue(Config), p.GetValue(Preset), p.GetValue(Arch), p.GetValue(Resolution));

    /// <summary>
    /// The configuration of exactly one of --config FILE / --preset NAME (also the tokenizer commands' choice), a
    /// built-in preset at <paramref name="resolution"/> px when given.
    /// </summary>
    internal static ModelConfig Choose(string? config, string? preset, int? resolution = null)
    {
        if (resolution is { } r) Presets.PatchNums(r);   // an unknown size is an error whatever else is given
        if ((config == null) == (preset == null)) throw new MvarException("give exactly one of --config FILE or --preset NAME");
        if (resolution != null && preset == null)
            throw new MvarException("--resolution applies to a built-in --preset (a --config sets tokenizer.patch_nums itself)");
        if (ShippedModel.Of(preset) is { } shipped)
        {
            var c = shipped.LoadConfig();
            if (resolution != null && resolution != c.Tokenizer.ImageSize)
                throw new MvarException($"--resolution applies to the built-in presets, not to the shipped model {preset} ({c.Tokenizer.ImageSize} px)");
            return c;
        }
        return preset != null ? Presets.Get(preset, resolution) : ModelConfig.Load(config!);
    }

    internal static ModelConfig ResolveConfig(string? config, string? preset, string? arch, int? resolution = null)
    {
        var c = WithTransformer(Choose(config, preset, resolution), config ?? preset);
        return arch == null ? c : c.WithArch(Architectures.Parse(arch, "--arch"));
    }

    /// <summary>The configuration of --config / --preset as <paramref name="arch"/>.</summary>
    internal static ModelConfig ResolveConfig(string? config, string? preset, Architecture arch) =>
        WithTransformer(Choose(config, preset), config ?? preset).WithArch(arch);

    static ModelConfig WithTransformer(ModelConfig c, string? source) =>
        c.Transformer != null ? c : throw new ConfigException($"{source}: the configuration has no transformer section");

    /// <summary>The tokenizer checkpoint: --vae, or the shipped preset's tokenizer.</summary>
    internal static string VaePath(string? vae, string? preset) =>
        vae ?? ShippedModel.Of(preset)?.TokenizerPath ?? throw new MvarException("give --vae (the tokenizer checkpoint)");

    /// <summary>(tokenizer, transformer) checkpoint paths: --vae/--model, or the shipped preset's files for the config's arch.</summary>
    public (string vae, string model) Paths(ParseResult p, ModelConfig config)
    {
        string? preset = p.GetValue(Preset);
        string vae = VaePath(p.GetValue(Vae), preset);
        string model = p.GetValue(Model) ?? ShippedModel.Of(preset)?.TransformerPath(config.Transformer!.Arch)
            ?? throw new MvarException("give --model (the transformer checkpoint)");
        return (vae, model);
    }

    /// <summary>Fails early, before long work, when a checkpoint file is missing.</summary>
    public (string vae, string model) CheckFilesExist(ParseResult p, ModelConfig config)
    {
        var (vaePath, modelPath) = Paths(p, config);
        if (!File.Exists(vaePath)) throw new CheckpointException($"tokenizer checkpoint not found: {vaePath}");
        if (!File.Exists(modelPath)) throw new CheckpointException($"model checkpoint not found: {modelPath}");
        return (vaePath, modelPath);
    }

    /// <summary>The tokenizer and the transformer with their checkpoints loaded.</summary>
    public (VqVae tokenizer, ScaleTransformer transformer) Load(ParseResult p, ModelConfig config)
    {
        var (vaePath, modelPath) = CheckFilesExist(p, config);
        var pipeline = MvarPipeline.Load(config, vaePath, modelPath, p.GetValue(Key));
        return (pipeline.Tokenizer, pipeline.Transformer);
    }
}
