using System.Collections.Concurrent;
using Mvar.Config;
using Mvar.IO;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Tests.Transformer;

/// <summary>The tiny models of tests/data/parity (config.json) and cached access to their expected_*.pth tensors.</summary>
public static class ParityData
{
    static readonly ConcurrentDictionary<string, Dictionary<string, Tensor>> cache = new();

    public static ModelConfig ModelConfigOf(string arch) => new()
    {
        Tokenizer = new TokenizerConfig { VocabSize = 64, ZChannels = 8, Ch = 32, PatchNums = [1, 2, 3, 4, 6, 8], QuantResi = 0.5, ShareQuantResi = 4 },
        Transformer = new TransformerConfig
        {
            Arch = Architectures.Parse(arch), Depth = 2, EmbedDim = 64, NumHeads = 2, NumClasses = 10, MlpRatio = 4.0, NormEps = 1e-6,
            AttnL2Norm = true, SharedAln = false, KernelSize = 3, RefineStep = 4,
        },
    };

    /// <summary>
    /// A parity file's tensors (loaded once per test run; do not dispose). Detached from the dispose scope of whichever
    /// test loads them first, so that its scope's end does not dispose them under every later test.
    /// </summary>
    public static Dictionary<string, Tensor> Tensors(string name) =>
        cache.GetOrAdd(name, n =>
        {
            var d = TorchCheckpoint.LoadStateDict(Fixtures.Parity(n));
            foreach (var t in d.Values) t.DetachFromDisposeScope();
            return d;
        });

    /// <summary>The model of <paramref name="arch"/> with the weights of <paramref name="weights"/> (var.pth / mvar.pth).</summary>
    public static ScaleTransformer Model(string arch, string weights, IAttentionPattern? pattern = null)
    {
        var model = ScaleTransformer.Create(ModelConfigOf(arch), pattern);
        model.LoadStateDict(Tensors(weights), weights);
        return model;
    }

    static readonly Lazy<Mvar.Tokenizer.VqVae> vae = new(() => Mvar.Tokenizer.VqVaeLoader.Load(ModelConfigOf("var").Tokenizer, Fixtures.Parity("vae.pth")));

    /// <summary>The fixture tokenizer (vae.pth), shared by all tests; do not dispose.</summary>
    public static Mvar.Tokenizer.VqVae Vae => vae.Value;

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var d = (a.to_type(ScalarType.Float64) - b.to_type(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }

    public static void AssertClose(Tensor expected, Tensor actual, double atol = 1e-4, string what = "")
    {
        double d = MaxAbsDiff(actual, expected);
        Assert.True(d <= atol, $"{what}: max |diff| {d:g3} > {atol:g3}");
    }
}
