using Mvar.Config;
using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Transformer;

namespace Mvar.Cli.Serving;

/// <summary>The loaded tokenizer and transformer(s), one per architecture, with what the API tells about them.</summary>
public sealed class ServedModels : IDisposable
{
    public ServedModels(ModelConfig config, VqVae tokenizer, IReadOnlyDictionary<string, ScaleTransformer> transformers, string[]? classNames = null)
    {
        if (transformers.Count == 0) throw new MvarException("no transformer to serve");
        Config = config;
        Tokenizer = tokenizer;
        Transformers = transformers;
        Samplers = transformers.ToDictionary(kv => kv.Key, kv => new ScaleSampler(kv.Value, tokenizer));
        var first = transformers.Values.First();
        NumClasses = first.NumClasses;
        VocabSize = first.VocabSize;
        ClassNames = classNames ?? Enumerable.Range(0, NumClasses).Select(i => $"class {i}").ToArray();
        if (ClassNames.Length != NumClasses)
            throw new ConfigException($"the configuration names {ClassNames.Length} classes but the model has {NumClasses}");
    }

    public ModelConfig Config { get; }
    public VqVae Tokenizer { get; }
    public IReadOnlyDictionary<string, ScaleTransformer> Transformers { get; }
    public IReadOnlyDictionary<string, ScaleSampler> Samplers { get; }
    /// <summary>The architecture a request without "arch" gets: the configuration's, when loaded.</summary>
    public string DefaultArch => Transformers.ContainsKey(Config.Transformer!.Arch.Name()) ? Config.Transformer.Arch.Name() : Transformers.Keys.First();
    public int NumClasses { get; }
    public int VocabSize { get; }
    public string[] ClassNames { get; }
    public int ImageSize => Config.Tokenizer.ImageSize;

    /// <summary>The body of GET /api/models.</summary>
    public object Describe() => new
    {
        models = Transformers.Select(kv => new
        {
            arch = kv.Key,
            depth = kv.Value.Depth,
            embed_dim = kv.Value.EmbedDim,
            parameters = kv.Value.ParameterCount(),
        }),
        default_arch = DefaultArch,
        image_size = ImageSize,
        channels = Config.Tokenizer.InChannels,
        patch_nums = Config.Tokenizer.PatchNums,
        vocab_size = VocabSize,
        num_classes = NumClasses,
        class_names = ClassNames,
        // the defaults of a request without cfg / top_k / top_p (the library's), so that the page need not repeat them
        sampling = new
        {
            cfg = SamplingOptions.DefaultCfg, max_cfg = SamplingOptions.MaxCfg,
            top_k = SamplingOptions.DefaultTopK(VocabSize), top_p = SamplingOptions.DefaultTopP,
        },
    };

    public void Dispose()
    {
        foreach (var t in Transformers.Values) t.Dispose();
        Tokenizer.Dispose();
    }
}
