namespace Mvar.Sampling;

/// <summary>
/// torch 1.13's CPU <c>torch.multinomial(probs, n, replacement=True)</c>: per row a float32 running-sum CDF,
/// divided by its total, last entry forced to 1; each draw takes one float64 uniform u and returns the first
/// index whose CDF value is not below u (binary search). Newer libtorch versions draw differently.
/// </summary>
public static class Multinomial
{
    /// <summary>The index that uniform <paramref name="u"/> selects in the distribution <paramref name="probs"/>.</summary>
    public static int Invert(ReadOnlySpan<float> probs, double u, Span<float> cdfScratch)
    {
        int V = probs.Length;
        float sum = 0;
        for (int j = 0; j < V; j++)
        {
            float p = probs[j];
            if (!(p >= 0) || float.IsInfinity(p)) throw new ArgumentException("probabilities must be finite and non-negative");
            sum += p;
            cdfScratch[j] = sum;
        }
        if (!(sum > 0)) throw new ArgumentException("the probabilities of a row sum to zero");
        for (int j = 0; j < V; j++) cdfScratch[j] /= sum;
        cdfScratch[V - 1] = 1;
        int left = 0, right = V;
        while (right - left > 0)
        {
            int mid = left + (right - left) / 2;
            if (cdfScratch[mid] < u) left = mid + 1; else right = mid;
        }
        return left;
    }

    /// <summary>One draw per row of <paramref name="probs_NV"/> (row-major N x V), uniforms taken from <paramref name="uniform"/> in row order.</summary>
    public static long[] DrawOnePerRow(float[] probs_NV, int V, Func<double> uniform)
    {
        int N = probs_NV.Length / V;
        var idx = new long[N];
        var cdf = new float[V];
        for (int i = 0; i < N; i++) idx[i] = Invert(probs_NV.AsSpan(i * V, V), uniform(), cdf);
        return idx;
    }
}
