using Mvar.Config;
using Mvar.IO;
using Mvar.Sampling;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests;

public class MvarPipelineTests
{
    [Fact]
    public void LoadedFromAConfigAndCheckpointsItSamplesTheOfficialTokens()
    {
        var config = ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json"));
        using var mvar = MvarPipeline.Load(config, Fixtures.Parity("vae.pth"), Fixtures.Parity("mvar.pth"));
        using var samples = mvar.Sample([2, 4], new SamplingOptions { Cfg = 1.5, TopK = 10, TopP = 0.9, Seed = 0 });
        Assert.Equal(new long[] { 2, 4 }, samples.Classes);
        Assert.Equal(0UL, samples.Seed);
        Assert.Equal(new long[] { 2, 3, 128, 128 }, samples.Images.shape);
        var exp = Tensors("expected_mvar.pth");
        for (int si = 0; si < 6; si++)
            Assert.Equal(exp[$"ar_sampled_seed0_idx_s{si}"].data<long>().ToArray(), samples.Result.Tokens[si].data<long>().ToArray());
    }

    [Fact]
    public void TheShippedModelGivesTheSameImagesForTheSameSeedAsPngBytes()
    {
        using var mvar = MvarPipeline.FromPreset("fashion-mnist");
        Assert.Equal(Architecture.Mvar, mvar.Config.Transformer!.Arch);
        var options = mvar.DefaultOptions with { Seed = 3 };
        using var a = mvar.Sample([mvar.ClassId("sneaker"), 8], options);
        using var b = mvar.Sample([7, 8], options);
        Assert.Equal(new[] { "Sneaker", "Bag" }, a.ClassNames);
        Assert.Equal(new long[] { 2, 1, 32, 32 }, a.Images.shape);
        Assert.True(a.Images.equal(b.Images).all().item<bool>());
        Assert.True(a.Images.min().item<float>() >= -1 && a.Images.max().item<float>() <= 1);

        var (px, w, h) = ImageFiles.Decode(a.Png(1), 1, "sample 1");
        Assert.Equal((32, 32), (w, h));
        Assert.Equal(ImageFiles.TensorToPixels(a.Images[1]).pixels, px);
        var (_, gw, gh) = ImageFiles.Decode(a.GridPng(), 1, "grid");
        Assert.Equal((2 * (96 + 6) + 6, 96 + 6 + 6), (gw, gh));   // 32 px cells enlarged 3x, padding 2 (x3)

        string path = Path.Combine(Fixtures.TempDir(), "grid.png");
        a.SaveGrid(path);
        Assert.Equal(a.GridPng(), File.ReadAllBytes(path));
    }

    [Fact]
    public void RandomClassesComeFromTheSeedAndTheVarTwinLoadsToo()
    {
        using var mvar = MvarPipeline.FromPreset("fashion-mnist", arch: "var");
        Assert.Equal(Architecture.Var, mvar.Config.Transformer!.Arch);
        var options = mvar.DefaultOptions with { Seed = 5 };
        using var a = mvar.SampleRandom(3, options);
        using var b = mvar.SampleRandom(3, options);
        Assert.Equal(3, a.Count);
        Assert.Equal(a.Classes, b.Classes);
        Assert.All(a.Classes, c => Assert.InRange(c, 0, 9));
    }

    [Fact]
    public void ReconstructingAnImageFileIsTheTokenizerRoundTrip()
    {
        using var mvar = MvarPipeline.FromPreset("fashion-mnist");
        using var scope = NewDisposeScope();
        var image = linspace(-1, 1, 32 * 32).reshape(1, 1, 32, 32);
        string path = Path.Combine(Fixtures.TempDir(), "in.png");
        ImageFiles.SavePng(image, path);
        var fromFile = mvar.Reconstruct(path);
        var loaded = ImageFiles.Load(path, 32, 1);
        Assert.Equal(new long[] { 1, 1, 32, 32 }, fromFile.shape);
        Assert.True(fromFile.equal(mvar.Tokenizer.IdxBlToImg(mvar.Tokenize(loaded))).all().item<bool>());
        Assert.Equal(new long[] { 1, 64 }, mvar.Tokenize(loaded)[^1].shape);
    }

    [Theory]
    [InlineData("unknown shipped model \"mnist\"", "mnist", null)]
    [InlineData("the architecture must be var or mvar, got \"gpt\"", "fashion-mnist", "gpt")]
    public void BadPresetsAndArchitecturesAreClearErrors(string expected, string preset, string? arch)
    {
        var e = Assert.ThrowsAny<MvarException>(() => MvarPipeline.FromPreset(preset, arch));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void BadClassesAndOptionsAreClearErrors()
    {
        using var mvar = MvarPipeline.FromPreset("fashion-mnist");
        Assert.Contains("unknown class \"cat\"; the model's classes: T-shirt/top, Trouser", Assert.Throws<MvarException>(() => mvar.ClassId("cat")).Message);
        Assert.Contains("unknown class id 10", Assert.Throws<MvarException>(() => mvar.Sample([10])).Message);
        Assert.Contains("top-k must be within [0, 256]", Assert.Throws<MvarException>(() => mvar.Sample([1], new SamplingOptions())).Message);
    }
}
