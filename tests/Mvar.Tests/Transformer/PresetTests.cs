using System.Diagnostics;
using Mvar.Config;
using Mvar.Transformer;
using Xunit.Abstractions;
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
        // VAR model zoo: d16 310M, d20 600M, d24 1.0B, d30 2.0B, d36 (512 px) 2.3B (as rounded there); MVAR uses the same backbones
        var expected = new Dictionary<int, (double millions, double tolerance)>
        {
            [16] = (310, 0.5), [20] = (600, 1), [24] = (1000, 50), [30] = (2000, 50),
            [36] = (2300, 60)
        };
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

    [Fact]
    public void VarD36Is512PxWithSharedAdaLnAndTheOfficialCount()
    {
        var c = Presets.Get("var-d36-512");
        Assert.Equal(512, c.Tokenizer.ImageSize);
        Assert.Equal(new[] { 1, 2, 3, 4, 6, 9, 13, 18, 24, 32 }, c.Tokenizer.PatchNums);
        Assert.Equal(new ModelConfig { Tokenizer = Presets.Vae256 with { PatchNums = c.Tokenizer.PatchNums } }.ToJson(),
            new ModelConfig { Tokenizer = c.Tokenizer }.ToJson());   // the same tokenizer at 512 px
        var t = c.Transformer!;
        Assert.Equal((36, 2304, 36, true, true), (t.Depth, t.EmbedDim, t.NumHeads, t.SharedAln, t.AttnL2Norm));
        // the count of the official build_vae_var(depth=36, shared_aln=True, patch_nums=512's) VAR, parameters only
        Assert.Equal(2_353_893_904L, ScaleTransformer.CountParameters(t, c.Tokenizer));
    }

    [Theory]
    [InlineData(256, 680, 10)]
    [InlineData(512, 2240, 10)]
    [InlineData(1024, 9451, 14)]
    public void EveryBackbonePresetTakesTheOfficialSchedulesWithRefineStep8AndKernel7(int resolution, int tokens, int scales)
    {
        foreach (var name in new[] { "var-d16", "mvar-d16", "mvar-d24", "var-d30" })
        {
            var c = Presets.Get(name, resolution);
            Assert.Equal(resolution, c.Tokenizer.ImageSize);
            Assert.Equal(tokens, c.Tokenizer.TokenCount);
            Assert.Equal(scales, c.Tokenizer.PatchNums.Length);
            Assert.Equal((8, 7), (c.Transformer!.RefineStep, c.Transformer.KernelSize));
            Assert.Equal(Presets.Get(name).Transformer, c.Transformer);   // only the schedule changes
        }
        // MVAR's first neighbourhood scale: 24x24 at 512 px, 16x16 at 1024 px (patch_nums[refine_step])
        Assert.Equal(resolution switch { 256 => 13, 512 => 24, _ => 16 }, Presets.Get("mvar-d16", resolution).Tokenizer.PatchNums[8]);
    }

    [Fact]
    public void AnUnknownResolutionOrOneAFixedPresetCannotTakeIsAConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => Presets.Get("mvar-d16", 300));
        Assert.Equal("resolution must be 256, 512, 1024, got 300", e.Message);
        e = Assert.Throws<ConfigException>(() => Presets.Get("var-d36-512", 1024));
        Assert.Contains("var-d36-512 is the 512 px checkpoint's configuration", e.Message);
        Assert.Same(Presets.Get("var-d36-512"), Presets.Get("var-d36-512", 512));
    }
}
