using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>
/// Improved precision and recall (Kynkäänniemi et al., 2019). Each set's manifold is the union of balls around its
/// points with radius the distance to the point's k-th nearest neighbour within the set. Precision: the fraction of
/// generated points inside the real manifold; recall: the fraction of real points inside the generated manifold.
/// </summary>
public static class PrecisionRecall
{
    public static (double Precision, double Recall) Compute(Tensor real_ND, Tensor fake_ND, int k = 3, int batch = 1024)
    {
        if (real_ND.shape[0] <= k || fake_ND.shape[0] <= k)
            throw new
                MvarException($"precision/recall with k = {k} needs more than {k} points in each set (got {real_ND.shape[0]} real, {fake_ND.shape[0]} "
                + $"generated)");
        using var scope = NewDisposeScope();
        var real = real_ND.to(ScalarType.Float64);
        var fake = fake_ND.to(ScalarType.Float64);
        var realRadii = KthNeighbourRadii(real, k, batch);
        var fakeRadii = KthNeighbourRadii(fake, k, batch);
        return (FractionInside(fake, real, realRadii, batch), FractionInside(real, fake, fakeRadii, batch));
    }

    /// <summary>Distance from every point to its k-th nearest other point of the same set.</summary>
    static Tensor KthNeighbourRadii(Tensor x, int k, int batch)
    {
        var radii = new List<Tensor>();
        for (long i = 0; i < x.shape[0]; i += batch)
        {
            using var step = NewDisposeScope();   // each distance block (batch x N float64) is freed at once
            var d = cdist(x.narrow(0, i, Math.Min(batch, x.shape[0] - i)), x);
            // the smallest distance is the point itself (0): the k-th neighbour is the (k+1)-th smallest
            radii.Add(d.topk(k + 1, dim: 1, largest: false).values.select(1, k).contiguous().MoveToOuterDisposeScope());
        }
        return cat(radii);
    }

    /// <summary>Fraction of <paramref name="points"/> within radius[j] of some manifold point j.</summary>
    static double FractionInside(Tensor points, Tensor manifold, Tensor radii, int batch)
    {
        long inside = 0;
        for (long i = 0; i < points.shape[0]; i += batch)
        {
            using var step = NewDisposeScope();
            var d = cdist(points.narrow(0, i, Math.Min(batch, points.shape[0] - i)), manifold);
            inside += d.le(radii.unsqueeze(0)).any(1).sum().item<long>();
        }
        return (double)inside / points.shape[0];
    }
}
