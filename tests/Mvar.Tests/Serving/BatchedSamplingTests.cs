using Mvar.Sampling;
using static Mvar.Tests.Transformer.ParityData;

namespace Mvar.Tests.Serving;

/// <summary>Requests batched together get the tokens they would get alone (each group draws from its own generator).</summary>
public class BatchedSamplingTests
{
    [Theory]
    [InlineData("var", 1.5)]
    [InlineData("mvar", 1.5)]
    [InlineData("mvar", 1.0)]   // MVAR without guidance: the unguided batch
    public void EachGroupGetsItsOwnTokensAsIfAlone(string arch, double cfg)
    {
        var s = new ScaleSampler(Model(arch, arch + ".pth"), Vae);
        var options = new SamplingOptions { Cfg = cfg, TopK = 20, TopP = 0.9 };
        var groups = new SampleGroup[] { new([3, 3], 2, 11), new(null, 3, 12), new([7], 1, 13) };
        using var batched = s.Sample(groups, options);
        int b0 = 0;
        foreach (var g in groups)
        {
            using var alone = s.Sample(g.Classes, g.Count, options with { Seed = g.Seed });
            Assert.Equal(alone.Classes, batched.Classes[b0..(b0 + g.Size)]);
            for (int b = 0; b < g.Size; b++) Assert.Equal(alone.TokensOf(b), batched.TokensOf(b0 + b));
            b0 += g.Size;
        }
        Assert.Equal(b0, batched.Classes.Length);
    }

    [Fact]
    public void GroupsWithDifferentSeedsDiffer()
    {
        var s = new ScaleSampler(Model("mvar", "mvar.pth"), Vae);
        using var r = s.Sample([new SampleGroup([4], 1, 1), new SampleGroup([4], 1, 2)], new SamplingOptions());
        Assert.NotEqual(r.TokensOf(0), r.TokensOf(1));
    }
}
