using Mvar.Metrics;
using static TorchSharp.torch;

namespace Mvar.Tests.Metrics;

public class MetricsTests
{
    static Tensor Gaussian(long n, Tensor mu_D, Tensor sigma_DD, long seed)
    {
        var g = new TorchSharp.torch.Generator((ulong)seed);
        var z = randn(n, mu_D.shape[0], dtype: ScalarType.Float64, generator: g);
        return z.matmul(linalg.cholesky(sigma_DD).t()) + mu_D;
    }

    [Fact]
    public void FidOfASetWithItselfIsZeroAndGrowsWithNoise()
    {
        var g = new TorchSharp.torch.Generator(1);
        var x = randn(2000, 16, dtype: ScalarType.Float64, generator: g);
        var sx = FeatureStatistics.Of(x);
        Assert.InRange(FrechetDistance.Compute(sx, sx), -1e-8, 1e-8);
        double previous = 0;
        foreach (var noise in new[] { 0.1, 0.3, 1.0 })
        {
            var y = x + noise * randn(2000, 16, dtype: ScalarType.Float64, generator: g);
            double fid = FrechetDistance.Compute(sx, FeatureStatistics.Of(y));
            Assert.True(fid > previous, $"FID {fid} at noise {noise} should exceed {previous}");
            previous = fid;
        }
    }

    [Fact]
    public void FidEqualsTheClosedFormForNonCommutingCovariances()
    {
        // In 2-D, Tr((S1 S2)^(1/2)) = sqrt(tr(S1 S2) + 2 sqrt(det(S1 S2))) for PSD S1, S2: an independent closed form.
        double[,] s1 = { { 2.0, 0.7 }, { 0.7, 1.0 } }, s2 = { { 0.5, -0.2 }, { -0.2, 3.0 } };
        double[] m1 = { 1.0, -2.0 }, m2 = { 0.5, 0.25 };
        double a = s1[0, 0] * s2[0, 0] + s1[0, 1] * s2[1, 0], d = s1[1, 0] * s2[0, 1] + s1[1, 1] * s2[1, 1];
        double det = (s1[0, 0] * s1[1, 1] - s1[0, 1] * s1[1, 0]) * (s2[0, 0] * s2[1, 1] - s2[0, 1] * s2[1, 0]);
        double trSqrt = Math.Sqrt(a + d + 2 * Math.Sqrt(det));
        double expected = Math.Pow(m1[0] - m2[0], 2) + Math.Pow(m1[1] - m2[1], 2) + (s1[0, 0] + s1[1, 1]) + (s2[0, 0] + s2[1, 1]) - 2 * trSqrt;

        var a1 = new FeatureStatistics(tensor(m1), tensor(s1), 1000);
        var a2 = new FeatureStatistics(tensor(m2), tensor(s2), 1000);
        Assert.Equal(expected, FrechetDistance.Compute(a1, a2), 10);

        // and estimated from samples of those Gaussians it converges to the same value
        var x = Gaussian(200_000, tensor(m1), tensor(s1), 3);
        var y = Gaussian(200_000, tensor(m2), tensor(s2), 4);
        Assert.Equal(expected, FrechetDistance.Compute(FeatureStatistics.Of(x), FeatureStatistics.Of(y)), 1);
    }

    [Fact]
    public void FidOfHighDimensionalCommutingGaussiansMatchesTheSumOverEigenvalues()
    {
        // S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T  =>  Tr((S1 S2)^(1/2)) = sum sqrt(a_i b_i)
        int D = 32;
        var g = new TorchSharp.torch.Generator(5);
        var (q, _) = linalg.qr(randn(D, D, dtype: ScalarType.Float64, generator: g));
        var a = rand(D, dtype: ScalarType.Float64, generator: g) + 0.1;
        var b = rand(D, dtype: ScalarType.Float64, generator: g) * 3 + 0.1;
        var s1 = q.matmul(diag(a)).matmul(q.t());
        var s2 = q.matmul(diag(b)).matmul(q.t());
        var mu1 = randn(D, dtype: ScalarType.Float64, generator: g);
        var mu2 = randn(D, dtype: ScalarType.Float64, generator: g);
        double expected = (mu1 - mu2).square().sum().item<double>() + a.sum().item<double>() + b.sum().item<double>()
                          - 2 * a.mul(b).sqrt().sum().item<double>();
        Assert.Equal(expected, FrechetDistance.Compute(new(mu1, s1, 100), new(mu2, s2, 100)), 8);
    }

    [Fact]
    public void TooFewSamplesForTheFeatureDimensionIsAClearError()
    {
        var e = Assert.Throws<MvarException>(() => FeatureStatistics.Of(randn(64, 64), "reference set"));
        Assert.Contains("reference set has 64 samples", e.Message);
        Assert.Contains("at least 65", e.Message);
    }

    [Fact]
    public void InceptionScoreOfUniformPredictionsIsOneAndOfConfidentBalancedPredictionsIsTheClassCount()
    {
        var (uniform, _) = InceptionScore.Compute(full(1000, 10, 0.1f));
        Assert.Equal(1.0, uniform, 6);
        var confident = nn.functional.one_hot(arange(10000) % 10, 10).to(ScalarType.Float32);
        var (mean, std) = InceptionScore.Compute(confident, splits: 10);
        Assert.InRange(mean, 9.9, 10.0);            // parts of 1,000 random samples: nearly balanced
        Assert.InRange(std, 0.0, 0.05);
        // written class by class (as class-conditional samples are): the parts still mix the classes
        var sorted = nn.functional.one_hot(arange(1000).div(100, rounding_mode: RoundingMode.floor), 10).to(ScalarType.Float32);
        var (sortedMean, _) = InceptionScore.Compute(sorted, splits: 10);
        Assert.InRange(sortedMean, 9.0, 10.0);      // in file order every part would hold one class and score 1
    }

    [Fact]
    public void PrecisionAndRecallOnConstructedSets()
    {
        // real: 0..9 on a line, radius (k = 1) 1 each; fake radii (k = 1): 0.7, 0.7, 1, 1, 2
        var real = arange(10, dtype: ScalarType.Float64).unsqueeze(1);
        var fake = tensor(new[] { 0.5, 1.2, 30, 31, 33 }).unsqueeze(1);
        var (precision, recall) = PrecisionRecall.Compute(real, fake, k: 1);
        Assert.Equal(0.4, precision, 10);   // 0.5 and 1.2 lie in the real manifold, 30, 31, 33 do not
        Assert.Equal(0.2, recall, 10);      // only real 0 and 1 lie within the fake balls [-0.2, 1.2] and [0.5, 1.9]
        var (p, r) = PrecisionRecall.Compute(real, real, k: 3);
        Assert.Equal(1.0, p);
        Assert.Equal(1.0, r);
    }
}
