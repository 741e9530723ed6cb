using Mvar.Metrics;
using static TorchSharp.torch;

namespace Mvar.Tests.Metrics;

/// <summary>PSNR and SSIM (<see cref="Psnr"/>, <see cref="Ssim"/>) against hand-computed values and a direct implementation of the definitions.</summary>
public class ImageQualityTests
{
    [Fact]
    public void PsnrOfIdenticalImagesIsInfinite()
    {
        using var scope = NewDisposeScope();
        var x = rand(3, 1, 8, 8);
        var psnr = Psnr.PerImage(x, x.clone());
        Assert.All(psnr, p => Assert.True(double.IsPositiveInfinity(p)));
        Assert.True(double.IsPositiveInfinity(Psnr.OfMse(0)));
    }

    [Fact]
    public void PsnrMatchesHandComputedCases()
    {
        using var scope = NewDisposeScope();
        // one pixel of four off by 0.5: MSE = 0.25 / 4 = 1/16, PSNR = 10 log10 16 = 12.0412 dB
        var a = zeros(1, 1, 2, 2);
        var b = zeros(1, 1, 2, 2); b[0, 0, 1, 1] = tensor(0.5f);
        Assert.Equal(12.041199826559248, Psnr.PerImage(a, b)[0], 9);
        // every value of an RGB image one 8-bit level off: MSE = 1/255^2, PSNR = 20 log10 255 = 48.1308 dB
        var c = full(1, 3, 4, 4, 100.0 / 255, dtype: ScalarType.Float64);
        var d = full(1, 3, 4, 4, 101.0 / 255, dtype: ScalarType.Float64);
        Assert.Equal(48.130803608679106, Psnr.PerImage(c, d)[0], 9);
        // images are scored separately: the second pair's PSNR does not depend on the first's
        var pair = Psnr.PerImage(cat([a, a]), cat([b, a]));
        Assert.Equal(12.041199826559248, pair[0], 9);
        Assert.True(double.IsPositiveInfinity(pair[1]));
    }

    [Fact]
    public void SsimOfIdenticalImagesIsOne()
    {
        using var scope = NewDisposeScope();
        var x = rand(2, 1, 20, 24);
        Assert.All(Ssim.PerImage(x, x.clone()), s => Assert.Equal(1.0, s, 12));
        var rgb = rand(1, 3, 16, 16);
        Assert.Equal(1.0, Ssim.PerImage(rgb, rgb.clone())[0], 12);
    }

    [Fact]
    public void SsimOfAConstantShiftMatchesTheClosedForm()
    {
        // flat images a and a + c: no variance, so only the luminance term is left, (2 a (a+c) + C1) / (a^2 + (a+c)^2 + C1)
        using var scope = NewDisposeScope();
        double a = 0.3, c = 0.2, C1 = 0.01 * 0.01;
        var x = full(1, 1, 16, 16, a, dtype: ScalarType.Float64);
        var y = full(1, 1, 16, 16, a + c, dtype: ScalarType.Float64);
        double expected = (2 * a * (a + c) + C1) / (a * a + (a + c) * (a + c) + C1);
        Assert.Equal(expected, Ssim.PerImage(x, y)[0], 10);
        // a textured image shifted by c: sigma_x = sigma_y = sigma_xy, so the structure term is exactly 1 and every
        // window's SSIM is its luminance term; the image mean is that averaged over the windows' local means
        var tex = rand(1, 1, 13, 13, dtype: ScalarType.Float64) * 0.5;
        var shiftedExpected = Direct(tex, tex + c, (mx, my, vx, vy, cxy) => (2 * mx * (mx + c) + C1) / (mx * mx + (mx + c) * (mx + c) + C1));
        Assert.Equal(shiftedExpected, Ssim.PerImage(tex, tex + c)[0], 10);
    }

    [Fact]
    public void SsimMatchesADirectImplementationOfTheDefinition()
    {
        using var scope = NewDisposeScope();
        var g = new TorchSharp.torch.Generator(7);
        var x = rand(1, 1, 17, 19, dtype: ScalarType.Float64, generator: g);
        var y = (x * 0.7 + 0.3 * rand(1, 1, 17, 19, dtype: ScalarType.Float64, generator: g)).clamp(0, 1);
        double C1 = 0.0001, C2 = 0.0009;
        double expected = Direct(x, y, (mx, my, vx, vy, cxy) => (2 * mx * my + C1) * (2 * cxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2)));
        double ssim = Ssim.PerImage(x, y)[0];
        Assert.Equal(expected, ssim, 10);
        Assert.InRange(ssim, 0.1, 0.99);
        // colour images are compared on their BT.601 luma
        var xr = rand(1, 3, 12, 12, dtype: ScalarType.Float64, generator: g);
        var yr = rand(1, 3, 12, 12, dtype: ScalarType.Float64, generator: g);
        Tensor Y(Tensor t) => 0.299 * t[.., 0..1] + 0.587 * t[.., 1..2] + 0.114 * t[.., 2..3];
        Assert.Equal(Ssim.PerImage(Y(xr), Y(yr))[0], Ssim.PerImage(xr, yr)[0], 12);
    }

    [Fact]
    public void SsimRejectsImagesSmallerThanTheWindow()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<MvarException>(() => Ssim.PerImage(rand(1, 1, 10, 32), rand(1, 1, 10, 32)));
        Assert.Contains("11x11", e.Message);
    }

    /// <summary>
    /// The mean over every 11x11 window inside the (1, 1, H, W) images of <paramref name="f"/>(local means, variances,
    /// covariance), each statistic a Gaussian-weighted sum (sigma 1.5, weights normalised to 1), written as plain loops.
    /// </summary>
    static double Direct(Tensor x, Tensor y, Func<double, double, double, double, double, double> f)
    {
        int H = (int)x.shape[2], W = (int)x.shape[3];
        var xs = x.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var ys = y.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        var w = new double[11, 11];
        double total = 0;
        for (int i = 0; i < 11; i++)
            for (int j = 0; j < 11; j++) total += w[i, j] = Math.Exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / (2 * 1.5 * 1.5));
        double sum = 0; int windows = 0;
        for (int top = 0; top + 11 <= H; top++)
            for (int left = 0; left + 11 <= W; left++)
            {
                double mx = 0, my = 0;
                for (int i = 0; i < 11; i++)
                    for (int j = 0; j < 11; j++)
                    {
                        double k = w[i, j] / total; int p = (top + i) * W + left + j;
                        mx += k * xs[p]; my += k * ys[p];
                    }
                double vx = 0, vy = 0, cxy = 0;
                for (int i = 0; i < 11; i++)
                    for (int j = 0; j < 11; j++)
                    {
                        double k = w[i, j] / total; int p = (top + i) * W + left + j;
                        vx += k * (xs[p] - mx) * (xs[p] - mx); vy += k * (ys[p] - my) * (ys[p] - my); cxy += k * (xs[p] - mx) * (ys[p] - my);
                    }
                sum += f(mx, my, vx, vy, cxy); windows++;
            }
        return sum / windows;
    }
}
