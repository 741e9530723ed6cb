using Mvar.Training.Adversarial;
using static TorchSharp.torch;

namespace Mvar.Tests.Training.Adversarial;

public class GanLossesTests
{
    [Fact]
    public void HingeLossesOnKnownValues()
    {
        // D(real) = [2, 0.5, -1]: relu(1 - x) = [0, 0.5, 2], mean 5/6; D(fake) = [-3, 0, 1]: relu(1 + x) = [0, 1, 2], mean 1
        using var real = tensor(new float[] { 2, 0.5f, -1 });
        using var fake = tensor(new float[] { -3, 0, 1 });
        Assert.Equal((5.0 / 6 + 1) / 2, GanLosses.DiscriminatorHinge(real, fake).item<float>(), 6);
        Assert.Equal(2.0 / 3, GanLosses.GeneratorHinge(fake).item<float>(), 6);   // -mean([-3, 0, 1])
        // LeCam with averages 0.5 (real) and -0.5 (fake): relu(real + 0.5)^2 = [6.25, 1, 0], relu(0.5 - fake)^2 = [12.25, 0.25, 0]
        Assert.Equal(7.25 / 3 + 12.5 / 3, GanLosses.LeCam(real, fake, 0.5, -0.5).item<float>(), 5);
    }

    [Fact]
    public void AdaptiveWeightIsTheRatioOfGradientNormsAtTheLastWeight()
    {
        // a tiny "decoder": rec = w * x; rec loss = mean((w x - y)^2), GAN loss = -mean(v . (w x))
        using var w = tensor(new float[] { 0.5f, -1.0f, 2.0f }).requires_grad_();
        var x = new float[] { 1, 2, 3 }; var y = new float[] { 0, 1, 1 }; var v = new float[] { 0.3f, -0.2f, 0.1f };
        using var rec = w * tensor(x);
        using var recLoss = (rec - tensor(y)).pow(2).mean();
        using var ganLoss = (rec * tensor(v)).mean().neg();
        // by hand: d recLoss / d w_i = 2 (w_i x_i - y_i) x_i / 3; d ganLoss / d w_i = -v_i x_i / 3
        double gr = 0, gg = 0;
        for (int i = 0; i < 3; i++)
        {
            float wi = w[i].item<float>();
            double a = 2 * (wi * x[i] - y[i]) * x[i] / 3, b = -v[i] * x[i] / 3;
            gr += a * a; gg += b * b;
        }
        double expected = Math.Sqrt(gr) / (Math.Sqrt(gg) + 1e-4);
        Assert.Equal(expected, GanLosses.AdaptiveWeight(recLoss, ganLoss, w), 3);
        // the graphs are kept: a backward pass still works afterwards
        (recLoss + ganLoss).backward();
        Assert.NotNull(w.grad);
    }

    [Fact]
    public void AdaptiveWeightIsClamped()
    {
        using var w = tensor(new float[] { 1f }).requires_grad_();
        using var small = (w * 1e-9f).sum();
        using var large = (w * 1e9f).sum();
        Assert.Equal(GanLosses.AdaptiveMin, GanLosses.AdaptiveWeight(small, large, w));
        using var w2 = tensor(new float[] { 1f }).requires_grad_();
        using var bigRec = (w2 * 1e9f).sum();
        using var tiny = (w2 * 1e-9f).sum();
        Assert.Equal(GanLosses.AdaptiveMax, GanLosses.AdaptiveWeight(bigRec, tiny, w2));
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(99, 0.0)]
    [InlineData(100, 0.25)]   // first step of the ramp: (100 - 100 + 1) / 4
    [InlineData(101, 0.5)]
    [InlineData(103, 1.0)]
    [InlineData(5000, 1.0)]
    public void DiscriminatorStartsAtDiscStartAndRampsOverTheWarmUp(long step, double expected) =>
        Assert.Equal(expected, GanLosses.Ramp(step, start: 100, warmup: 4), 12);

    [Fact]
    public void WithoutWarmUpTheDiscriminatorIsFullyOnAtItsStart()
    {
        Assert.Equal(0, GanLosses.Ramp(9, 10, 0));
        Assert.Equal(1, GanLosses.Ramp(10, 10, 0));
    }
}
