using Mvar.Sampling;
using Mvar.Tokens;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Sampling;

public class ZeroShotEditTests
{
    static ScaleSampler Sampler(string arch) => new(Model(arch, arch + ".pth"), Vae);
    static readonly int[] Pns = [1, 2, 3, 4, 6, 8];

    /// <summary>Tokens (per scale (1, pn*pn)) of a fixed random 128x128 image.</summary>
    static TokenMaps ImageTokens()
    {
        var g = new Generator(7);
        using var img = rand([1, 3, 128, 128], generator: g).mul_(2).sub_(1);
        return Vae.ImgToIdxBl(img);
    }

    static SamplingOptions Opts(ulong seed = 3) => new() { Cfg = 1.5, TopK = 20, TopP = 0.95, Seed = seed };

    [Theory]
    [InlineData("var")]
    [InlineData("mvar")]
    public void FullKeepMaskReturnsExactlyTheInputTokens(string arch)
    {
        var tokens = ImageTokens();
        using var keep = ones(8, 8);
        using var r = ZeroShotEditor.Edit(Sampler(arch), tokens, keep, ScaleSampler.NoClass, 2, Opts());
        for (int si = 0; si < Pns.Length; si++)
            for (int b = 0; b < 2; b++)
                Assert.Equal(tokens[si][0].data<long>().ToArray(), r.Tokens[si][b].data<long>().ToArray());
        // the features are those of the image's tokens
        using var f = Vae.Quantize.EmbedToFhat(Vae.IdxBlToEmbed(tokens), lastOne: true)[0];
        AssertClose(f.expand(2, -1, -1, -1), r.FHat, 1e-5, "f_hat");
    }

    [Theory]
    [InlineData("var", 4L)]
    [InlineData("mvar", 4L)]
    [InlineData("mvar", ScaleSampler.NoClass)]
    public void EmptyKeepMaskEqualsPlainSamplingWithTheSameSeed(string arch, long cls)
    {
        var s = Sampler(arch);
        using var keep = zeros(8, 8);
        using var edited = ZeroShotEditor.Edit(s, ImageTokens(), keep, cls, 2, Opts(), keepFirstScale: false);
        using var plain = s.Sample([cls, cls], 0, Opts());
        Assert.Equal(plain.Classes, edited.Classes);
        for (int si = 0; si < Pns.Length; si++) TensorAssert.Equal(plain.Tokens[si], edited.Tokens[si], $"scale {si}");
        TensorAssert.Equal(plain.FHat, edited.FHat, "f_hat");
    }

    [Theory]
    [InlineData("var", EditMode.Inpaint, false)]
    [InlineData("var", EditMode.Outpaint, false)]
    [InlineData("mvar", EditMode.Inpaint, false)]
    [InlineData("mvar", EditMode.Outpaint, true)]
    public void KeptRegionMatchesTheImageTokensAtEveryScale(string arch, EditMode mode, bool smooth)
    {
        var tokens = ImageTokens();
        using var keep = ZeroShotEditor.BoxKeepMask(8, 0.25, 0.1, 0.75, 0.6, mode);
        var masks = ZeroShotEditor.ScaleKeepMasks(keep, Pns);
        using var r = ZeroShotEditor.Edit(Sampler(arch), tokens, keep, 3, 3, Opts() with { MoreSmooth = smooth });
        long generated = 0, differing = 0;
        for (int si = 0; si < Pns.Length; si++)
        {
            var m = masks[si][0].data<bool>().ToArray();
            var img = tokens[si][0].data<long>().ToArray();
            if (si == 0) Assert.All(m, Assert.True);
            for (int b = 0; b < 3; b++)
            {
                var got = r.Tokens[si][b].data<long>().ToArray();
                for (int i = 0; i < got.Length; i++)
                    if (m[i]) Assert.Equal(img[i], got[i]);
                    else { generated++; if (got[i] != img[i]) differing++; }
            }
        }
        Assert.True(generated > 0 && differing > generated / 2, $"{differing} of {generated} generated tokens differ from the image");
    }

    [Fact]
    public void ScaleMasksFollowTheDemo()
    {
        // inpainting box 0.25..0.75 on 8x8: the centre 4x4 is generated; at 4x4 the centre 2x2; scale 0 kept
        using var keep = ZeroShotEditor.BoxKeepMask(8, 0.25, 0.25, 0.75, 0.75, EditMode.Inpaint);
        Assert.Equal(48, keep.sum().item<float>());
        var m = ZeroShotEditor.ScaleKeepMasks(keep, Pns);
        Assert.True(m[0].all().item<bool>());
        Assert.Equal(new[] { true, true, true, true, true, false, false, true, true, false, false, true, true, true, true, true },
            m[3][0].data<bool>().ToArray());
        Assert.Equal(64 - 16, m[5].sum().item<long>());
        using var outp = ZeroShotEditor.BoxKeepMask(8, 0.25, 0.25, 0.75, 0.75, EditMode.Outpaint);
        Assert.Equal(16, outp.sum().item<float>());
    }

    [Theory]
    [InlineData(-0.1, 0, 0.5, 0.5, "outside [0, 1]")]
    [InlineData(0, 0, 1.2, 0.5, "outside [0, 1]")]
    [InlineData(0.5, 0, 0.5, 0.5, "is empty")]
    public void BadBoxesAreUserErrors(double x0, double y0, double x1, double y1, string expected)
    {
        var e = Assert.Throws<MvarException>(() => ZeroShotEditor.BoxKeepMask(8, x0, y0, x1, y1, EditMode.Inpaint));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void EmptyAndFullKeepMasksAreRejected()
    {
        Assert.Contains("keeps nothing", Assert.Throws<MvarException>(() => ZeroShotEditor.CheckKeepMask(zeros(8, 8))).Message);
        Assert.Contains("nothing to generate", Assert.Throws<MvarException>(() => ZeroShotEditor.CheckKeepMask(ones(8, 8))).Message);
    }

    [Fact]
    public void NoClassUsesTheGuidanceRowAndUnknownClassesStayErrors()
    {
        var s = Sampler("mvar");
        using var r = s.Sample([ScaleSampler.NoClass], 0, Opts());
        Assert.Equal(new long[] { 10 }, r.Classes);
        Assert.Throws<MvarException>(() => s.Sample([10], 0, Opts()));
    }

    [Fact]
    public void OverrideOfTheWrongShapeIsRejected()
    {
        var tokens = ImageTokens();
        var masks = ZeroShotEditor.ScaleKeepMasks(ones(8, 8), Pns);
        using var over = new TokenOverride(tokens.Take(5).ToList(), masks.Take(5).ToList());
        var e = Assert.Throws<MvarException>(() => Sampler("var").Sample([1], 0, Opts(), null, over));
        Assert.Contains("token override has 5 scales", e.Message);
    }
}
