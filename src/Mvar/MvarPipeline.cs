using Mvar.Config;
using Mvar.IO;
using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Tokens;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar;

/// <summary>
/// The entry point for using Mvar from C#: a tokenizer and a transformer loaded together, with sampling and
/// reconstruction in one call each. <see cref="FromPreset"/> loads the model Mvar ships; <see cref="Load"/> a
/// configuration (a built-in preset such as <c>Presets.Get("var-d16")</c>, or <c>ModelConfig.Load(path)</c>) with its
/// checkpoints. The parts stay public (<see cref="Tokenizer"/>, <see cref="Transformer"/>, <see cref="Sampler"/>) for
/// everything else (editing, analysis, training).
/// </summary>
public sealed class MvarPipeline : IDisposable
{
    public ModelConfig Config { get; }
    public VqVae Tokenizer { get; }
    public ScaleTransformer Transformer { get; }
    public ScaleSampler Sampler { get; }

    MvarPipeline(ModelConfig config, VqVae tokenizer, ScaleTransformer transformer)
    {
        Config = config;
        Tokenizer = tokenizer;
        Transformer = transformer;
        Sampler = new ScaleSampler(transformer, tokenizer);
    }

    /// <summary>
    /// A shipped model (<see cref="ShippedModel.Names"/>, e.g. <c>"fashion-mnist"</c>): its configuration, tokenizer
    /// and the transformer of <paramref name="arch"/> (<c>"mvar"</c>, <c>"var"</c>; default: the configuration's).
    /// </summary>
    public static MvarPipeline FromPreset(string name, string? arch = null)
    {
        var shipped = ShippedModel.Find(name);
        var config = WithArch(shipped.LoadConfig(), arch);
        return Load(config, shipped.TokenizerPath, shipped.TransformerPath(config.Transformer!.Arch));
    }

    /// <summary>
    /// The model of <paramref name="config"/> with the weights of a tokenizer checkpoint and a transformer checkpoint
    /// (<c>.pth</c> or <c>.safetensors</c>; <paramref name="key"/> picks the state dict inside a wrapped checkpoint).
    /// </summary>
    public static MvarPipeline Load(ModelConfig config, string tokenizerPath, string transformerPath, string? key = null)
    {
        if (config.Transformer == null) throw new ConfigException("the configuration has no transformer section");
        var tokenizer = VqVaeLoader.Load(config.Tokenizer, tokenizerPath);
        try { return new MvarPipeline(config, tokenizer, ScaleTransformer.Load(config, transformerPath, key)); }
        catch { tokenizer.Dispose(); throw; }
    }

    /// <summary><paramref name="config"/> with its architecture set to <paramref name="arch"/> (var or mvar) when given.</summary>
    public static ModelConfig WithArch(ModelConfig config, string? arch)
    {
        if (arch == null) return config;
        return config.WithArch(Architectures.Parse(arch));
    }

    /// <summary>The official demo settings (<see cref="SamplingOptions.Default"/>), top-k clamped to this model's vocabulary.</summary>
    public SamplingOptions DefaultOptions => SamplingOptions.Default(Config.Tokenizer.VocabSize);

    /// <summary>The class names of the configuration (<c>"class N"</c> where it names none).</summary>
    public IReadOnlyList<string> ClassNames =>
        Enumerable.Range(0, Transformer.NumClasses).Select(c => Config.Transformer!.ClassName(c)).ToList();

    /// <summary>The id of the class called <paramref name="name"/> (case-insensitive).</summary>
    public long ClassId(string name)
    {
        var names = ClassNames;
        for (int c = 0; c < names.Count; c++)
            if (string.Equals(names[c], name, StringComparison.OrdinalIgnoreCase)) return c;
        throw new MvarException($"unknown class \"{name}\"; the model's classes: {string.Join(", ", names)}");
    }

    /// <summary>One sample per entry of <paramref name="classes"/> (class ids; repeat an id for several samples).</summary>
    public GeneratedImages Sample(IReadOnlyList<long> classes, SamplingOptions? options = null, Action<ScaleStep>? onScale = null) =>
        Generate(classes, classes.Count, options, onScale);

    /// <summary><paramref name="count"/> samples of classes drawn at random from the seeded generator (as the official code does).</summary>
    public GeneratedImages SampleRandom(int count, SamplingOptions? options = null, Action<ScaleStep>? onScale = null) =>
        Generate(null, count, options, onScale);

    GeneratedImages Generate(IReadOnlyList<long>? classes, int count, SamplingOptions? options, Action<ScaleStep>? onScale)
    {
        options ??= DefaultOptions;
        options.Validate(Config.Tokenizer.VocabSize);
        SamplingMemory.Require(Config, count, "sampling");
        using var _ = no_grad();
        var result = Sampler.Sample(classes, count, options, onScale);
        try { return new GeneratedImages(result, Tokenizer.FhatToImg(result.FHat), Config.Transformer!.ClassName); }
        catch { result.Dispose(); throw; }
    }

    /// <summary>Images (B, C, H, W) in [-1, 1] at the tokenizer's size, tokenized over every scale and decoded back.</summary>
    public Tensor Reconstruct(Tensor images_BChw) => Tokenizer.IdxBlToImg(Tokenizer.ImgToIdxBl(images_BChw));

    /// <summary>
    /// A PNG or JPEG file, resized and centre-cropped to the tokenizer's size as VAR's pre-processing does, tokenized
    /// and decoded back: (1, C, H, W) in [-1, 1] (<see cref="ImageFiles.EncodePng"/> makes a PNG of it).
    /// </summary>
    public Tensor Reconstruct(string imagePath)
    {
        using var scope = NewDisposeScope();
        var image = ImageFiles.Load(imagePath, Config.Tokenizer.ImageSize, Config.Tokenizer.InChannels);
        return Reconstruct(image).MoveToOuterDisposeScope();
    }

    /// <summary>The token maps of images (B, C, H, W) in [-1, 1]: one (B, pn*pn) tensor per scale.</summary>
    public TokenMaps Tokenize(Tensor images_BChw) => Tokenizer.ImgToIdxBl(images_BChw);

    public void Dispose()
    {
        Transformer.Dispose();
        Tokenizer.Dispose();
    }
}
