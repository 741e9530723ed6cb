using static TorchSharp.torch;

namespace Mvar.Tests;

/// <summary>Tensor comparisons with messages that say how far apart two tensors are.</summary>
public static class TensorAssert
{
    /// <summary>Same shape and bit-for-bit the same values (integers: tokens).</summary>
    public static void Equal(Tensor expected, Tensor actual, string what = "")
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
        using var ne = expected.ne(actual.to(expected.dtype));
        long bad = ne.sum().item<long>();
        Assert.True(bad == 0, $"{what}: {bad} of {expected.numel()} elements differ");
    }

    /// <summary>|actual - expected| / |expected| in the Frobenius norm (shapes must match).</summary>
    public static double RelativeError(Tensor expected, Tensor actual)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
        return (actual - expected).norm().item<float>() / expected.norm().item<float>();
    }

    /// <summary>Same shape and |expected - actual| &lt;= atol everywhere; returns the max abs difference.</summary>
    public static double Close(Tensor expected, Tensor actual, double atol = 1e-4, string what = "")
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
        using var diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs();
        double max = diff.max().item<double>();
        Assert.True(max <= atol, $"{what}: max abs difference {max:g4} > {atol:g4}");
        return max;
    }
}
