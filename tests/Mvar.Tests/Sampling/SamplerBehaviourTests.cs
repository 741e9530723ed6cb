using Mvar.Sampling;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Sampling;

public class SamplerBehaviourTests
{
    static ScaleSampler Sampler(string arch) => new(Model(arch, arch + ".pth"), Vae);

    [Theory]
    [InlineData(-1.0, 10, 0.9, "cfg")]
    [InlineData(double.NaN, 10, 0.9, "cfg")]
    [InlineData(1.5, -1, 0.9, "top-k")]
    [InlineData(1.5, 10, 1.5, "top-p")]
    [InlineData(1.5, 10, -0.1, "top-p")]
    public void InvalidOptionsAreUserErrors(double cfg, int topK, double topP, string mentions)
    {
        var e = Assert.Throws<MvarException>(() => Sampler("var").Sample([1], 0, new SamplingOptions { Cfg = cfg, TopK = topK, TopP = topP }));
        Assert.Contains(mentions, e.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-1)]
    public void UnknownClassIsAUserError(long cls)
    {
        var e = Assert.Throws<MvarException>(() => Sampler("mvar").Sample([1, cls], 0, new SamplingOptions()));
        Assert.Contains($"unknown class id {cls}", e.Message);
    }

    [Fact]
    public void SameSeedSameTokensAndRandomClassesComeFromTheSeed()
    {
        var s = Sampler("mvar");
        var o = new SamplingOptions { Cfg = 2.0, TopK = 20, TopP = 0.95, Seed = 42 };
        using var a = s.Sample(null, 3, o);
        using var b = s.Sample(null, 3, o);
        Assert.Equal(a.Classes, b.Classes);
        Assert.Equal(ScaleSampler.RandomClasses(3, 10, new TorchCpuGenerator(42)), a.Classes);
        Assert.All(a.Classes, c => Assert.InRange(c, 0, 9));
        for (int si = 0; si < a.Tokens.Count; si++) Assert.True(a.Tokens[si].eq(b.Tokens[si]).all().item<bool>());
        using var c2 = s.Sample(a.Classes, 0, o with { Seed = 43 });
        Assert.False(Enumerable.Range(0, a.Tokens.Count).All(si => a.Tokens[si].eq(c2.Tokens[si]).all().item<bool>()));
    }

    [Fact]
    public void CallbackSeesEveryScaleInOrderWithGrowingTokenMaps()
    {
        var steps = new List<(int si, long n, double fhatNorm)>();
        using var r = Sampler("var").Sample([1, 2], 0, new SamplingOptions { Seed = 1 },
            st => steps.Add((st.Si, st.Tokens_Bl.shape[1], st.FHat_BChw.norm().item<float>())));
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5 }, steps.Select(s => s.si));
        Assert.Equal(new long[] { 1, 4, 9, 16, 36, 64 }, steps.Select(s => s.n));
        Assert.Equal(steps[^1].fhatNorm, r.FHat.norm().item<float>(), 5);
        Assert.Equal(new[] { 2, 2, 2, 2, 2, 2 }, r.Tokens.Select(t => (int)t.shape[0]));
    }

    [Fact]
    public void SmoothSamplingRunsAndDiffersFromHardTokens()
    {
        var s = Sampler("mvar");
        var o = new SamplingOptions { Seed = 5, TopK = 10, TopP = 0.9 };
        using var hard = s.Sample([3], 0, o);
        using var smooth = s.Sample([3], 0, o with { MoreSmooth = true });
        Assert.True(smooth.FHat.isfinite().all().item<bool>());
        Assert.True(MaxAbsDiff(hard.FHat, smooth.FHat) > 1e-3);
    }

    [Fact]
    public void MvarSkipsGuidanceAtCfgOneButVarDoesNot()
    {
        // MVAR at cfg 1: the logits are the conditional ones alone, i.e. what a guided run computes at scale 0 (t = 0)
        using var _ = no_grad();
        foreach (var arch in new[] { "var", "mvar" })
        {
            var s = Sampler(arch);
            Tensor? l1 = null, l15 = null;
            using (s.Sample([4], 0, new SamplingOptions { Cfg = 1.0, TopK = 1, Seed = 0 },
                st => { if (st.Si == 1) l1 = st.Logits_BlV.clone().DetachFromDisposeScope(); })) { }
            using (s.Sample([4], 0, new SamplingOptions { Cfg = 0.0, TopK = 1, Seed = 0 },
                st => { if (st.Si == 1) l15 = st.Logits_BlV.clone().DetachFromDisposeScope(); })) { }
            // cfg 0 means t = 0: pure conditional logits. VAR at cfg 1 still mixes (t = 0.2 at scale 1); MVAR does not.
            double d = MaxAbsDiff(l1!, l15!);
            if (arch == "mvar") Assert.True(d < 1e-5, $"mvar: {d}");
            else Assert.True(d > 1e-3, $"var: {d}");
        }
    }
}
