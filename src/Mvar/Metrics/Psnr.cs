using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>
/// Peak signal-to-noise ratio of images in [0, 1] (peak 1): <c>10 log10(1 / MSE)</c> dB, the MSE over every pixel and
/// channel of one image. Identical images have no error and an infinite PSNR.
/// </summary>
public static class Psnr
{
    /// <summary>The PSNR in dB of <c>1 / mse</c>; +Infinity for an MSE of 0.</summary>
    public static double OfMse(double mse) => mse <= 0 ? double.PositiveInfinity : -10 * Math.Log10(mse);

    /// <summary>One PSNR (dB) per image of two batches (B, C, H, W) of values in [0, 1].</summary>
    public static double[] PerImage(Tensor a_BCHW, Tensor b_BCHW)
    {
        if (!a_BCHW.shape.SequenceEqual(b_BCHW.shape) || a_BCHW.dim() != 4)
            throw new
                ArgumentException($"PSNR needs two image batches of one shape, got ({string.Join(", ", a_BCHW.shape)}) and "
                + $"({string.Join(", ", b_BCHW.shape)})");
        using var scope = NewDisposeScope();
        var mse = (a_BCHW.to(ScalarType.Float64) - b_BCHW.to(ScalarType.Float64)).square().mean([1, 2, 3]);
        return mse.data<double>().Select(OfMse).ToArray();
    }
}
