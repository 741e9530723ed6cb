using Mvar.Benchmarks;
using Mvar.Kernels;
using Mvar.Sampling;
using Mvar.Tests.Transformer;
using static TorchSharp.torch;

namespace Mvar.Tests.Benchmarks;

public class GreedyAgreementTests
{
    [Fact]
    public void AModelAgreesWithItselfEverywhereAndInt8AlmostEverywhere()
    {
        using var _ = no_grad();
        using var exact = ParityData.Model("mvar", "mvar.pth");
        using var int8 = ParityData.Model("mvar", "mvar.pth");
        int8.UseGemm(GemmKernel.Int8, inferenceOnly: true);
        long[] classes = [0, 1, 2, 3, 4, 5];
        var options = new SamplingOptions { Cfg = 1.5, TopK = 10, TopP = 0.9, Seed = 3 };
        var self = GreedyAgreement.PerScale(exact, exact, ParityData.Vae, classes, options, batch: 4);
        Assert.Equal(exact.Layout.Count, self.Length);
        Assert.All(self, a => Assert.Equal(1.0, a));
        var done = new List<int>();
        var approx = GreedyAgreement.PerScale(exact, int8, ParityData.Vae, classes, options, batch: 4, progress: done.Add);
        Assert.Equal([4, 6], done);
        Assert.All(approx, a => Assert.InRange(a, 0.5, 1.0));
    }
}
