using Mvar.Benchmarks;
using Mvar.Config;

namespace Mvar.Tests.Benchmarks;

public class GemmShapeBenchmarkTests
{
    static ModelConfig Tiny() => ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json"));

    static IReadOnlyList<GemmShape> Shapes(int batch, bool guided)
    {
        var c = Tiny();
        return GemmShapeBenchmark.SamplingShapes(c.Transformer!, c.Tokenizer.PatchNums, c.Tokenizer.VocabSize, batch, guided);
    }

    [Fact]
    public void SamplingShapesAreEveryLayerAtEveryScaleWithTheGuidedRows()
    {
        // tiny model: C 64, hidden 256, depth 2, V 64, patch_nums 1,2,3,4,6,8
        var shapes = Shapes(batch: 2, guided: true);
        Assert.Equal(6 * 5, shapes.Count);
        var last = shapes.Where(s => s.Scale == 5).ToDictionary(s => s.Layer);
        Assert.Equal(new[] { "fc1", "fc2", "head", "proj", "qkv" }, last.Keys.Order());
        Assert.All(last.Values, s => Assert.Equal(2 * 2 * 64, s.Rows));   // cond + uncond rows of 2 images of 8x8
        Assert.Equal((64L, 192L, 2), (last["qkv"].In, last["qkv"].Out, last["qkv"].PerImage));
        Assert.Equal((256L, 64L), (last["fc2"].In, last["fc2"].Out));
        Assert.Equal((64L, 64L, 1), (last["head"].In, last["head"].Out, last["head"].PerImage));
        // per image: the blocks' linears 130 tokens * 2 rows * 2 blocks * 2 * (3*64*64 + 64*64 + 2*64*256) = 51,118,080
        // and the head 130 * 2 * 2*64*64 = 2,129,920 (the hand count of SamplingBenchmarkTests without ada_lin and word_embed)
        Assert.Equal(51_118_080 + 2_129_920, shapes.Sum(s => s.Flops * s.PerImage) / 2, 6);
        Assert.Equal(shapes.Sum(s => s.Flops * s.PerImage) / 2, Shapes(batch: 1, guided: false).Sum(s => s.Flops * s.PerImage) * 2, 6);
    }

    [Fact]
    public void TimingIsPositiveAndSharedOverTheBatch()
    {
        var s = Shapes(batch: 4, guided: false).Single(x => x.Scale == 5 && x.Layer == "fc1");
        var t = GemmShapeBenchmark.Time(s, batch: 4, repeats: 2);
        Assert.True(t.Seconds > 0 && double.IsFinite(t.GflopPerSecond) && t.GflopPerSecond > 0);
        Assert.Equal(t.Seconds * s.PerImage / 4, t.SecondsPerImage, 12);
        Assert.Equal(s.Flops / t.Seconds / 1e9, t.GflopPerSecond, 9);
    }

    [Fact]
    public void NoRepeatsIsAnError()
    {
        var s = Shapes(batch: 1, guided: false)[0];
        var e = Assert.Throws<MvarException>(() => GemmShapeBenchmark.Time(s, batch: 1, repeats: 0));
        Assert.Contains("repeats", e.Message);
    }
}
