using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Metrics;

/// <summary>
/// The structural similarity index of Wang, Bovik, Sheikh and Simoncelli (2004) as they defined it: local means,
/// variances and covariance under an 11x11 Gaussian window (sigma 1.5, weights summing to 1, no sample correction),
/// <c>C1 = (0.01 L)^2</c>, <c>C2 = (0.03 L)^2</c> with L = 1 (images in [0, 1]), the SSIM map over the window positions
/// that lie inside the image ("valid", no padding), and its mean as the image's SSIM. Colour images are compared on
/// their luma, <c>Y = 0.299 R + 0.587 G + 0.114 B</c> (BT.601); grey images as they are.
/// </summary>
public static class Ssim
{
    public const int WindowSize = 11;
    public const double Sigma = 1.5, K1 = 0.01, K2 = 0.03;
    public static readonly double C1 = K1 * K1, C2 = K2 * K2;

    /// <summary>The 1-D Gaussian weights of the window (length 11, summing to 1).</summary>
    public static double[] Gaussian1D()
    {
        var w = Enumerable.Range(0, WindowSize).Select(i => Math.Exp(-Math.Pow(i - WindowSize / 2, 2) / (2 * Sigma * Sigma))).ToArray();
        double sum = w.Sum();
        return w.Select(x => x / sum).ToArray();
    }

    /// <summary>The grey channel (B, 1, H, W) of images (B, 1 or 3, H, W): themselves, or their BT.601 luma.</summary>
    public static Tensor Luma(Tensor images_BCHW)
    {
        long c = images_BCHW.shape[1];
        if (c == 1) return images_BCHW.alias();
        if (c != 3) throw new ArgumentException($"SSIM takes grey or RGB images, got {c} channels");
        using var scope = NewDisposeScope();
        var w = tensor(new[] { 0.299, 0.587, 0.114 }, dtype: images_BCHW.dtype).view(1, 3, 1, 1);
        return (images_BCHW * w).sum(1, keepdim: true).MoveToOuterDisposeScope();
    }

    /// <summary>One SSIM per image of two batches (B, C, H, W) of values in [0, 1], at least 11x11 pixels.</summary>
    public static double[] PerImage(Tensor x_BCHW, Tensor y_BCHW)
    {
        if (!x_BCHW.shape.SequenceEqual(y_BCHW.shape) || x_BCHW.dim() != 4)
            throw new
                ArgumentException($"SSIM needs two image batches of one shape, got ({string.Join(", ", x_BCHW.shape)}) and "
                + $"({string.Join(", ", y_BCHW.shape)})");
        if (x_BCHW.shape[2] < WindowSize || x_BCHW.shape[3] < WindowSize)
            throw new MvarException($"SSIM needs images of at least {WindowSize}x{WindowSize} pixels, got {x_BCHW.shape[2]}x{x_BCHW.shape[3]}");
        using var scope = NewDisposeScope();
        var x = Luma(x_BCHW.to(ScalarType.Float64));
        var y = Luma(y_BCHW.to(ScalarType.Float64));
        var g = tensor(Gaussian1D(), dtype: ScalarType.Float64);
        var gRow = g.view(1, 1, 1, WindowSize);
        var gCol = g.view(1, 1, WindowSize, 1);
        Tensor Blur(Tensor t) => F.conv2d(F.conv2d(t, gRow), gCol);   // separable window, valid positions only
        var mx = Blur(x); var my = Blur(y);
        var vx = Blur(x * x) - mx * mx;
        var vy = Blur(y * y) - my * my;
        var cxy = Blur(x * y) - mx * my;
        var map = (2 * mx * my + C1) * (2 * cxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        return map.mean([1, 2, 3]).data<double>().ToArray();
    }
}
