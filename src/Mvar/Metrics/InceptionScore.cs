using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>
/// Inception Score of class probabilities p(y|x) (N, classes): split into <c>splits</c> parts, per part
/// exp(mean_x KL(p(y|x) || p(y))) with p(y) the part's mean; returns the mean and standard deviation over the parts.
/// The parts are taken from a fixed-seed permutation of the samples, not in file order: class-conditional sample
/// sets are usually written class by class, and a part holding a single class would score about 1 whatever the
/// images (the usual implementations assume randomly ordered samples).
/// </summary>
public static class InceptionScore
{
    public static (double Mean, double Std) Compute(Tensor probs_NK, int splits = 10)
    {
        long n = probs_NK.shape[0];
        if (splits < 1 || n < splits) throw new MvarException($"Inception Score needs at least {splits} samples (one per split), got {n}");
        using var scope = NewDisposeScope();
        var p = probs_NK.to(ScalarType.Float64).index_select(0, randperm(n, generator: new Generator(0, CPU)));
        var scores = new double[splits];
        for (int s = 0; s < splits; s++)
        {
            long begin = n * s / splits, end = n * (s + 1) / splits;
            var part = p.narrow(0, begin, end - begin);
            var py = part.mean([0], keepdim: true);
            // KL with the 0 log 0 = 0 convention
            var kl = part.mul(part.clamp_min(1e-30).log() - py.clamp_min(1e-30).log()).sum(1).mean();
            scores[s] = Math.Exp(kl.item<double>());
        }
        double mean = scores.Average();
        double std = Math.Sqrt(scores.Select(x => (x - mean) * (x - mean)).Average());
        return (mean, std);
    }
}
