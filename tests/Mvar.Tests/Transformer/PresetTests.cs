using System.Diagnostics;
using Mvar.Config;
using Mvar.Transformer;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static Mvar.Tests.Transformer.ParityData;

namespace Mvar.Tests.Transformer;

public class PresetTests(ITestOutputHelper output)
{
    [Fact]
    public void AnalyticCountEqualsTheBuiltModelForEveryVariant()
    {
        foreach (var arch in new[] { "var", "mvar" })
        foreach (var shared in new[] { false, true })
        foreach (var l2 in new[] { false, true })
        {
            var c = ModelConfigOf(arch);
            var t = c.Transformer! with { SharedAln = shared, AttnL2Norm = l2, MlpRatio = 2.5 };
            using var model = new ScaleTransformer(t, c.Tokenizer);
            Assert.Equal(ScaleTransformer.CountParameters(t, c.Tokenizer), model.ParameterCount());
        }
    }

    [Fact]
    public void EveryPresetHasTheOfficialParameterCount()
    {
        // VAR model zoo: d16 310M, d20 600M, d24 1.0B, d30 2.0B (as rounded there); MVAR uses the same backbones
        var expected = new Dictionary<int, (double millions, double tolerance)> { [16] = (310, 0.5), [20] = (600, 1), [24] = (1000, 50), [30] = (2000, 50) };
        foreach (var (name, config) in Presets.All)
        {
            if (config.Transformer is null) continue;
            long n = ScaleTransformer.CountParameters(config.Transformer, config.Tokenizer);
            output.WriteLine($"{name}: {n:N0}");
            var (m, tol) = expected[config.Transformer.Depth];
            Assert.InRange(n / 1e6, m - tol, m + tol);
        }
    }

    [Fact]
    public void D16PresetBuildsWithTheOfficialKeysAndCount()
    {
        var sw = Stopwatch.StartNew();
        var config = Presets.Get("mvar-d16");
        using var model = ScaleTransformer.Create(config);
        Assert.Equal(310_283_520L, model.ParameterCount());
        Assert.Equal(ScaleTransformer.CountParameters(config.Transformer!, config.Tokenizer), model.ParameterCount());
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("blocks.15.attn.scale_mul_1H11", keys);
        Assert.Contains("attn_bias_for_masking", keys);
        Assert.Equal(8 + 16 * 13 + 4, keys.Count);
        output.WriteLine($"built mvar-d16 in {sw.Elapsed.TotalSeconds:F1}s");
    }
}
