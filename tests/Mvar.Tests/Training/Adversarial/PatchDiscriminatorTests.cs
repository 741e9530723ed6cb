using Mvar.Training.Adversarial;
using static TorchSharp.torch;

namespace Mvar.Tests.Training.Adversarial;

public class PatchDiscriminatorTests
{
    [Theory]
    [InlineData(2, false, 32, 6)]   // 32 -> 16 -> 8, then two stride-1 4x4 convolutions: 7, 6
    [InlineData(3, false, 32, 2)]   // taming's default depth: 32 -> 16 -> 8 -> 4 -> 3 -> 2
    [InlineData(2, true, 32, 6)]
    public void GivesOneLogitPerPatch(int layers, bool sn, int side, int patches)
    {
        using var gen = new Generator(0);
        using var d = new PatchDiscriminator(1, 8, layers, sn, gen);
        using var x = randn(3, 1, side, side);
        using var y = d.forward(x);
        Assert.Equal(new long[] { 3, 1, patches, patches }, y.shape);
        // taming's channel progression: ndf, 2 ndf, ... and batch norm unless spectral norm
        Assert.Equal(!sn, d.named_parameters().Any(p => p.name.Contains("running") || p.parameter.dim() == 1 && p.name.EndsWith("weight",
            StringComparison.Ordinal)));
    }

    [Fact]
    public void SameGeneratorSeedGivesTheSameWeights()
    {
        using var g1 = new Generator(4); using var g2 = new Generator(4);
        using var a = new PatchDiscriminator(1, 8, 2, false, g1);
        using var b = new PatchDiscriminator(1, 8, 2, false, g2);
        var sb = b.state_dict();
        foreach (var (k, v) in a.state_dict()) Assert.True(v.eq(sb[k]).all().item<bool>(), k);
    }

    [Fact]
    public void SpectralNormKeepsTheLargestSingularValueNearOne()
    {
        using var gen = new Generator(1);
        using var conv = new SpectralNormConv2d(4, 6, 3, 1, 1, false, gen);
        using (no_grad()) conv.parameters().First().normal_(0, 1, generator: gen);
        conv.train();
        using var x = randn(1, 4, 5, 5);
        for (int i = 0; i < 30; i++) conv.forward(x).Dispose();   // power iterations converge
        // the effective weight W / sigma has spectral norm 1: check with the SVD of the reshaped weight
        var w = conv.parameters().First().detach().view(6, -1);
        var sigma = linalg.svdvals(w)[0].item<float>();
        // a linear map of norm 1: scaling the input by s scales the output by s, and |W/sigma v| <= |v| for the top vector
        var (_, _, vh) = linalg.svd(w, fullMatrices: false);
        var top = vh[0];
        var outNorm = (w.mv(top) / sigma).norm().item<float>();
        Assert.Equal(1.0, outNorm, 3);
        // and the module divides by the same sigma its buffer estimates
        var u = conv.buffers().First();
        Assert.Equal(sigma, u.dot(w.mv(nn.functional.normalize(w.t().mv(u), dim: 0))).item<float>(), 2);
    }

    [Fact]
    public void SpectralNormDiscriminatorSeesRealAndFakeBeforeOneBackward()
    {
        // the trainer's discriminator step: two training forwards (each a power iteration on u), then one backward
        using var gen = new Generator(2);
        using var d = new PatchDiscriminator(1, 8, 2, spectralNorm: true, gen);
        d.train();
        var loss = GanLosses.DiscriminatorHinge(d.forward(randn(2, 1, 32, 32)), d.forward(randn(2, 1, 32, 32)));
        loss.backward();
        // every weight gets a gradient (the last bias's cancels exactly while D outputs lie inside the hinge margins)
        Assert.All(d.parameters().Where(p => p.dim() > 1), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0));
    }
}
