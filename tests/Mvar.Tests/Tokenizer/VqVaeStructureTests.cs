using Mvar.Config;
using Mvar.Tokenizer;
using static TorchSharp.torch;

namespace Mvar.Tests.Tokenizer;

/// <summary>Architecture variants, the official 256px tokenizer's size, phi selection, checkpoint mismatches.</summary>
public class VqVaeStructureTests
{
    static TokenizerConfig Tiny => new() { VocabSize = 64, ZChannels = 8, Ch = 32, PatchNums = [1, 2, 3, 4, 6, 8] };

    [Fact]
    public void Official256TokenizerHasTheOfficialParameterCount()
    {
        using var vae = new VqVae(Presets.Get("vae-ch160v4096z32").Tokenizer);
        // VAR's vae_ch160v4096z32.pth: 108.9M parameters (108,948,355 for VQVAE(vocab 4096, z 32, ch 160))
        Assert.Equal(108_948_355, vae.ParameterCount());
        var sd = vae.state_dict();
        Assert.Equal(new long[] { 4096, 32 }, sd["quantize.embedding.weight"].shape);
        Assert.Equal(new long[] { 10, 4096 }, sd["quantize.ema_vocab_hit_SV"].shape);
        Assert.Equal(new long[] { 640, 320, 3, 3 }, sd["encoder.down.4.block.0.conv1.weight"].shape);
        Assert.Equal(256, vae.Config.ImageSize);
        // 10 scales with 4 shared phis (scale 2 is a float tie that numpy resolves to phi 1)
        Assert.Equal(new[] { 0, 0, 1, 1, 1, 2, 2, 3, 3, 3 }, Enumerable.Range(0, 10).Select(si => vae.Quantize.PhiIndex(si, 10)).ToArray());
    }

    [Fact]
    public void PhiTicksFollowNumpyLinspace()
    {
        Assert.Equal(new[] { 1 / 12.0, 13 / 36.0, 23 / 36.0, 11 / 12.0 }, PhiTicks.For(4), new ToleranceComparer(1e-15));
        Assert.Equal(new[] { 1 / 6.0, 0.5, 5 / 6.0 }, PhiTicks.For(3), new ToleranceComparer(1e-15));
        Assert.Equal(0, PhiTicks.Nearest([0.25, 0.75], 0.5));   // ties: the first, like numpy argmin
    }

    [Fact]
    public void ShareQuantResiVariantsUseTheOfficialKeys()
    {
        using (var non = new VqVae(Tiny with { ShareQuantResi = 0 }))
        {
            var keys = non.state_dict().Keys.Where(k => k.StartsWith("quantize.quant_resi.", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(0, 6).SelectMany(i => new[] { $"quantize.quant_resi.{i}.weight", $"quantize.quant_resi.{i}.bias" }).Order(),
                keys.Order());
            Assert.Equal(Enumerable.Range(0, 6), Enumerable.Range(0, 6).Select(si => non.Quantize.PhiIndex(si, 6)));
        }
        using (var shared = new VqVae(Tiny with { ShareQuantResi = 1 }))
        {
            var keys = shared.state_dict().Keys.Where(k => k.StartsWith("quantize.quant_resi.", StringComparison.Ordinal)).Order().ToList();
            Assert.Equal(new[] { "quantize.quant_resi.qresi.bias", "quantize.quant_resi.qresi.weight" }, keys);
        }
        using (var none = new VqVae(Tiny with { QuantResi = 0 }))
            Assert.DoesNotContain(none.state_dict().Keys, k => k.StartsWith("quantize.quant_resi.", StringComparison.Ordinal));
    }

    [Fact]
    public void OptionalAttentionAndGreyImages()
    {
        using var vae = new VqVae(Tiny with { UsingSa = false, UsingMidSa = false, InChannels = 1, NumResBlocks = 1, PatchNums = [1, 2, 4] });
        var keys = vae.state_dict().Keys.ToList();
        Assert.DoesNotContain(keys, k => k.Contains("attn"));
        Assert.Equal(new long[] { 32, 1, 3, 3 }, vae.state_dict()["encoder.conv_in.weight"].shape);
        Assert.Contains("decoder.up.0.block.1.conv1.weight", keys);      // num_res_blocks + 1 in the decoder
        Assert.DoesNotContain("decoder.up.0.block.2.conv1.weight", keys);
        using var scope = NewDisposeScope();
        var img = rand(2, 1, 64, 64) * 2 - 1;
        var idx = vae.ImgToIdxBl(img);
        Assert.Equal(new long[] { 2, 16 }, idx[^1].shape);
        var rec = vae.IdxBlToImg(idx);
        Assert.Equal(new long[] { 2, 1, 64, 64 }, rec.shape);
    }

    [Fact]
    public void WrongImageSizeIsAUserError()
    {
        using var vae = new VqVae(Tiny);
        using var img = zeros(1, 3, 64, 64);
        var e = Assert.Throws<MvarException>(() => vae.ImgToIdxBl(img));
        Assert.Contains("128x128", e.Message);
    }

    [Fact]
    public void CheckpointForAnotherConfigIsRejectedWithAllMismatches()
    {
        var e = Assert.Throws<CheckpointException>(() => VqVaeLoader.Load(Presets.Vae256, Fixtures.Parity("vae.pth")));
        Assert.Contains("vae.pth", e.Message);
        Assert.Contains("shape mismatch", e.Message);
        Assert.Contains("encoder.conv_in.weight (checkpoint [32, 3, 3, 3], model [160, 3, 3, 3])", e.Message);
        var missing = Assert.Throws<CheckpointException>(() => VqVaeLoader.Load(Tiny, Path.Combine(Fixtures.TempDir(), "nope.pth")));
        Assert.Contains("nope.pth", missing.Message);
        var notVae = Assert.Throws<CheckpointException>(() => VqVaeLoader.Load(Tiny, Fixtures.Parity("var.pth")));
        Assert.Contains("missing key", notVae.Message);
    }

    [Fact]
    public void EmaStatisticsOfOtherScalesAreSkippedLikeTheOfficialLoader()
    {
        // the fixture checkpoint has 6 scales; a tokenizer with one scale fewer still loads (ema_vocab_hit_SV is (6, 64))
        using var vae = VqVaeLoader.Load(Tiny with { PatchNums = [1, 2, 4, 8] }, Fixtures.Parity("vae.pth"));
        Assert.Equal(new long[] { 4, 64 }, vae.state_dict()["quantize.ema_vocab_hit_SV"].shape);
    }

    sealed class ToleranceComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double x) => 0;
    }
}
