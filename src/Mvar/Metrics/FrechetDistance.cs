using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>Mean and covariance of a set of feature vectors (float64), the statistics FID compares.</summary>
public sealed record FeatureStatistics(Tensor Mu_D, Tensor Sigma_DD, long Count)
{
    /// <summary>Statistics of features (N, D). Needs N > D: with fewer samples the covariance is singular and FID is meaningless.</summary>
    public static FeatureStatistics Of(Tensor features_ND, string what = "feature set")
    {
        long n = features_ND.shape[0], d = features_ND.shape[1];
        if (n <= d)
            throw new MvarException($"{what} has {n} samples but the features have {d} dimensions: FID needs more samples than dimensions (at least {d + 1})");
        using var scope = NewDisposeScope();
        var x = features_ND.to(ScalarType.Float64);
        var mu = x.mean([0]);
        var xc = x - mu;
        var sigma = xc.t().matmul(xc).div(n - 1);                 // unbiased, as numpy.cov
        return new FeatureStatistics(mu.MoveToOuterDisposeScope(), sigma.MoveToOuterDisposeScope(), n);
    }
}

/// <summary>
/// Fréchet distance between two Gaussians (FID on feature statistics):
/// |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)), with the exact square root from eigen-decompositions:
/// Tr((S1 S2)^(1/2)) = sum of sqrt(eigenvalues of S1^(1/2) S2 S1^(1/2)), a symmetric PSD matrix.
/// </summary>
public static class FrechetDistance
{
    public static double Compute(FeatureStatistics a, FeatureStatistics b)
    {
        if (!a.Mu_D.shape.SequenceEqual(b.Mu_D.shape))
            throw new MvarException($"feature dimensions differ: {a.Mu_D.shape[0]} and {b.Mu_D.shape[0]}");
        using var scope = NewDisposeScope();
        var diff = a.Mu_D - b.Mu_D;
        var s1Half = SymmetricSqrt(a.Sigma_DD);
        var m = s1Half.matmul(b.Sigma_DD).matmul(s1Half);
        m = (m + m.t()) / 2;                                       // symmetric up to rounding
        var eig = linalg.eigvalsh(m).clamp_min(0);
        double trSqrt = eig.sqrt().sum().item<double>();
        return diff.dot(diff).item<double>() + a.Sigma_DD.trace().item<double>() + b.Sigma_DD.trace().item<double>() - 2 * trSqrt;
    }

    /// <summary>S^(1/2) of a symmetric PSD matrix: V diag(sqrt(max(l, 0))) V^T.</summary>
    static Tensor SymmetricSqrt(Tensor s)
    {
        var (l, v) = linalg.eigh((s + s.t()) / 2);
        return v.mul(l.clamp_min(0).sqrt().unsqueeze(0)).matmul(v.t());
    }
}
