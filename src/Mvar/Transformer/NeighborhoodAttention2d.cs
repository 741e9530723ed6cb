using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>
/// 2-D neighbourhood attention with NATTEN semantics (non-causal, dilation 1, no positional bias): the query at (i, j)
/// attends to the kh x kw window whose top-left corner is (clamp(i - kh/2, 0, H - kh), clamp(j - kw/2, 0, W - kw)),
/// i.e. the window is shifted inwards at the borders and always holds kh*kw keys.
/// Cost O(N kh kw d) time and O(N (d + kh kw)) memory: one gathered key/value map per window offset, never N x N.
/// </summary>
public static class NeighborhoodAttention2d
{
    /// <summary>Window start of every query row (or column): clamp(i - kernel/2, 0, size - kernel).</summary>
    public static long[] WindowStarts(int size, int kernel)
    {
        if (kernel < 1 || kernel > size) throw new ArgumentException($"neighbourhood kernel {kernel} must be in [1, {size}] (the map side)");
        var s = new long[size];
        for (int i = 0; i < size; i++) s[i] = Math.Clamp(i - kernel / 2, 0, size - kernel);
        return s;
    }

    /// <summary>q, k, v: (B, heads, H, W, d) -> (B, heads, H, W, d); weights = softmax over the window of (q.k) * scale.</summary>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, int kernelH, int kernelW, double scale)
    {
        using var scope = NewDisposeScope();
        int H = (int)q.shape[2], W = (int)q.shape[3];
        var rowStart = tensor(WindowStarts(H, kernelH), device: q.device);
        var colStart = tensor(WindowStarts(W, kernelW), device: q.device);
        var qs = scale == 1.0 ? q : q.mul(scale);

        // scores of every window offset (a, b): (B, heads, H, W) each, stacked on the last dim -> (B, heads, H, W, kh*kw)
        var scores = new List<Tensor>(kernelH * kernelW);
        for (int a = 0; a < kernelH; a++)
        {
            var kRows = k.index_select(2, rowStart + a);
            for (int b = 0; b < kernelW; b++)
                scores.Add(qs.mul(kRows.index_select(3, colStart + b)).sum(-1));
        }
        var attn = stack(scores, dim: -1).softmax(-1);

        Tensor? out_ = null;
        for (int a = 0; a < kernelH; a++)
        {
            var vRows = v.index_select(2, rowStart + a);
            for (int b = 0; b < kernelW; b++)
            {
                var term = attn.select(-1, a * kernelW + b).unsqueeze(-1).mul(vRows.index_select(3, colStart + b));
                out_ = out_ is null ? term : out_.add_(term);
            }
        }
        return out_!.MoveToOuterDisposeScope();
    }

    /// <summary>The same attention written as dense attention with an N x N mask (a slow reference for tests and tiny maps).</summary>
    public static Tensor DenseReference(Tensor q, Tensor k, Tensor v, int kernelH, int kernelW, double scale)
    {
        using var scope = NewDisposeScope();
        long B = q.shape[0], heads = q.shape[1], d = q.shape[4];
        int H = (int)q.shape[2], W = (int)q.shape[3], N = H * W;
        long[] rs = WindowStarts(H, kernelH), cs = WindowStarts(W, kernelW);
        var mask = new float[N * N];
        for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
        for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++)
        {
            bool inside = r >= rs[i] && r < rs[i] + kernelH && c >= cs[j] && c < cs[j] + kernelW;
            mask[(i * W + j) * N + r * W + c] = inside ? 0f : float.NegativeInfinity;
        }
        var bias = tensor(mask, [N, N], device: q.device);
        var qf = q.reshape(B, heads, N, d); var kf = k.reshape(B, heads, N, d); var vf = v.reshape(B, heads, N, d);
        var attn = qf.mul(scale).matmul(kf.transpose(-2, -1)).add(bias).softmax(-1);
        return attn.matmul(vf).reshape(B, heads, H, W, d).MoveToOuterDisposeScope();
    }
}
