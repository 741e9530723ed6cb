using System.Diagnostics;
using Mvar.Config;
using Mvar.Kernels;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Benchmarks;

/// <summary>
/// One matrix product of sampling: a linear layer applied to the rows of one scale (rows = images x tokens of the
/// scale, doubled by guidance), <see cref="PerImage"/> times per image (the depth for the block layers, once for the head).
/// </summary>
public sealed record GemmShape(string Layer, int Scale, long Rows, long In, long Out, int PerImage)
{
    public double Flops => 2.0 * Rows * In * Out;
}

/// <summary>A <see cref="GemmShape"/> timed: best seconds of one product, and what that is per image of the batch.</summary>
public sealed record GemmShapeTiming(string Layer, int Scale, long Rows, long In, long Out, int PerImage, double Seconds, double GflopPerSecond,
    double SecondsPerImage);

/// <summary>
/// Times the linear layers of a transformer's sampling loop shape by shape (on random values, with bias, on the GEMM
/// kernel the model would use: libtorch's sgemm, oneDNN's prepacked float32 or int8), so the GEMM library's speed on the skinny shapes of small
/// batches can be read apart from everything else the transformer does; their sum per image is the GEMM share of the
/// transformer phase. bench/official_gemm.py times the same shapes with the official code's torch.
/// </summary>
public static class GemmShapeBenchmark
{
    /// <summary>The block layers (q/k/v, projection, the MLP's two) and the head at every scale, for a batch of <paramref name="batch"/>.</summary>
    public static IReadOnlyList<GemmShape> SamplingShapes(TransformerConfig t, IReadOnlyList<int> patchNums, int vocabSize, int batch, bool guided)
    {
        long C = t.EmbedDim, hidden = (long)Math.Round(t.EmbedDim * t.MlpRatio, MidpointRounding.ToEven);
        var shapes = new List<GemmShape>();
        for (int si = 0; si < patchNums.Count; si++)
        {
            long rows = (guided ? 2L : 1L) * batch * patchNums[si] * patchNums[si];
            shapes.Add(new GemmShape("qkv", si, rows, C, 3 * C, t.Depth));
            shapes.Add(new GemmShape("proj", si, rows, C, C, t.Depth));
            shapes.Add(new GemmShape("fc1", si, rows, C, hidden, t.Depth));
            shapes.Add(new GemmShape("fc2", si, rows, hidden, C, t.Depth));
            shapes.Add(new GemmShape("head", si, rows, C, vocabSize, 1));
        }
        return shapes;
    }

    /// <summary>
    /// Best of <paramref name="repeats"/> timed products after one warm-up, on <paramref name="kernel"/> (a
    /// <see cref="PackedLinear"/> packed for these rows; packing is not timed); per image divides by <paramref name="batch"/>.
    /// </summary>
    public static GemmShapeTiming Time(GemmShape s, int batch, int repeats = 5, GemmKernel kernel = GemmKernel.Mkl)
    {
        if (repeats < 1) throw new MvarException($"repeats must be at least 1, got {repeats}");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var lin = new PackedLinear(s.In, s.Out);
        lin.Weight.normal_(0, 1 / Math.Sqrt(s.In));
        lin.Bias!.zero_();
        lin.eval();
        lin.Pack(kernel, s.Rows);
        var x = randn(s.Rows, s.In);
        lin.forward(x).Dispose();
        double best = double.MaxValue;
        var sw = new Stopwatch();
        for (int i = 0; i < repeats; i++)
        {
            sw.Restart();
            using (lin.forward(x)) { }
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return new GemmShapeTiming(s.Layer, s.Scale, s.Rows, s.In, s.Out, s.PerImage, best, s.Flops / best / 1e9, best * s.PerImage / batch);
    }
}
