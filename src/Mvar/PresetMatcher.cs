using Mvar.Config;
using Mvar.Tokenizer;
using Mvar.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace Mvar;

/// <summary>
/// Which built-in presets a state dict fits: the same keys with the same shapes as the preset's tokenizer (a tokenizer
/// checkpoint) or transformer (a VAR/MVAR checkpoint; VAR and MVAR of one depth share every parameter, so both match).
/// The preset models are built on the "meta" device: shapes only, no memory, no initialisation.
/// </summary>
public static class PresetMatcher
{
    static readonly Lazy<IReadOnlyList<(string name, Dictionary<string, long[]> shapes)>> BuiltIn = new(() => BuildShapes(Presets.AllResolutions()));

    /// <summary>The built-in presets the state dict fits, at each official resolution ("mvar-d16 --resolution 512").</summary>
    public static IReadOnlyList<string> Matching(IReadOnlyDictionary<string, Tensor> sd) => Matching(sd, BuiltIn.Value);

    /// <summary>The configurations of <paramref name="presets"/> the state dict fits.</summary>
    public static IReadOnlyList<string> Matching(IReadOnlyDictionary<string, Tensor> sd, IReadOnlyDictionary<string, ModelConfig> presets) =>
        Matching(sd, BuildShapes(presets));

    static IReadOnlyList<string> Matching(IReadOnlyDictionary<string, Tensor> sd, IReadOnlyList<(string name, Dictionary<string, long[]> shapes)> shapes) =>
        shapes.Where(p => Fits(p.shapes, sd)).Select(p => p.name).ToList();

    static bool Fits(Dictionary<string, long[]> shapes, IReadOnlyDictionary<string, Tensor> sd) =>
        shapes.Count == sd.Count && shapes.All(kv => sd.TryGetValue(kv.Key, out var t) && t.shape.SequenceEqual(kv.Value));

    static IReadOnlyList<(string, Dictionary<string, long[]>)> BuildShapes(IReadOnlyDictionary<string, ModelConfig> presets)
    {
        // The default device is process-wide in TorchSharp: hold it to meta only while the shapes are built.
        lock (typeof(PresetMatcher))
        {
            var previous = torch.get_default_device();
            torch.set_default_device(torch.META);
            try
            {
                var result = new List<(string, Dictionary<string, long[]>)>();
                foreach (var (name, config) in presets)
                {
                    using nn.Module module = config.Transformer is null
                        ? new VqVae(config.Tokenizer)
                        : new ScaleTransformer(config.Transformer, config.Tokenizer, initWeights: false);
                    result.Add((name, module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape)));
                }
                return result;
            }
            finally { torch.set_default_device(previous); }
        }
    }
}
