using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>
/// 2-D neighbourhood attention with NATTEN semantics (non-causal, dilation 1, no positional bias): the query at (i, j)
/// attends to the kh x kw window whose top-left corner is (clamp(i - kh/2, 0, H - kh), clamp(j - kw/2, 0, W - kw)),
/// i.e. the window is shifted inwards at the borders and always holds kh*kw keys.
/// Cost O(N kh kw d) time and O(N kh kw (+ d)) memory: row tiles against gathered key bands, never N x N.
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
    /// <remarks>
    /// Queries are processed in tiles of whole rows x tw columns. The windows of a tile's queries in row i all lie in
    /// rows rowStart[i] .. + kh and in one column range of at most tw + kw - 1 columns, so each tile is one batched
    /// matmul against that (kh x range) key band, with the columns outside each query's own window masked to -inf.
    /// With tw ~ kw every query scores O(kh kw) keys: O(N kh kw d) time, O(N kh kw) scores, no N x N matrix.
    /// </remarks>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, int kernelH, int kernelW, double scale)
    {
        using var scope = NewDisposeScope();
        long B = q.shape[0], heads = q.shape[1], d = q.shape[4];
        int H = (int)q.shape[2], W = (int)q.shape[3];
        long[] rowStart = WindowStarts(H, kernelH), colStart = WindowStarts(W, kernelW);
        // rows of every query row's window, row-major (i, a) -> rowStart[i] + a
        var rowIdx = tensor(Enumerable.Range(0, H).SelectMany(i => Enumerable.Range(0, kernelH).Select(a => rowStart[i] + a)).ToArray(), device: q.device);
        var qs = scale == 1.0 ? q : q.mul(scale);
        int tileW = Math.Min(W, 2 * kernelW);

        var tiles = new List<Tensor>();
        for (int j0 = 0; j0 < W; j0 += tileW)
        {
            int tw = Math.Min(tileW, W - j0);
            int c0 = (int)colStart[j0], c1 = (int)colStart[j0 + tw - 1] + kernelW, bandW = c1 - c0;
            // key/value band of every query row: (B, heads, H, kh * bandW, d)
            var kBand = k.narrow(3, c0, bandW).index_select(2, rowIdx).view(B, heads, H, kernelH * bandW, d);
            var vBand = v.narrow(3, c0, bandW).index_select(2, rowIdx).view(B, heads, H, kernelH * bandW, d);
            var mask = new float[tw * kernelH * bandW];
            for (int j = 0; j < tw; j++)
                for (int a = 0; a < kernelH; a++)
                    for (int c = 0; c < bandW; c++)
                    {
                        long col = c0 + c, s = colStart[j0 + j];
                        mask[(j * kernelH + a) * bandW + c] = col >= s && col < s + kernelW ? 0f : float.NegativeInfinity;
                    }
            var bias = tensor(mask, [tw, kernelH * bandW], device: q.device);
            var attn = qs.narrow(3, j0, tw).matmul(kBand.transpose(-2, -1)).add_(bias).softmax(-1);   // (B, heads, H, tw, kh*bandW)
            tiles.Add(attn.matmul(vBand));                                                            // (B, heads, H, tw, d)
        }
        return (tiles.Count == 1 ? tiles[0] : cat(tiles, dim: 3)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Maps of at most this many tokens run the neighbourhood attention as dense attention with an N x N additive mask
    /// (<see cref="Mask"/>): at MVAR's 13x13 and 16x16 (k = 7) that is 3-4x faster on CPU than the tiled band path,
    /// whose gathers and small matmuls cost more than the masked-out scores. Larger maps use the O(N k^2) path.
    /// </summary>
    public const int DenseMaxTokens = 1024;

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int, int, int), Tensor> masks = new();

    /// <summary>
    /// The additive mask (N, N) of 0 (key inside the query's window) and -inf, N = H * W, row-major positions.
    /// Cached per shape and shared: callers must not modify or dispose it.
    /// </summary>
    public static Tensor Mask(int H, int W, int kernelH, int kernelW) => masks.GetOrAdd((H, W, kernelH, kernelW), key =>
    {
        var (h, w, kh, kw) = key;
        long[] rs = WindowStarts(h, kh), cs = WindowStarts(w, kw);
        int N = h * w;
        var m = new float[N * N];
        for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
        for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++)
        {
            bool inside = r >= rs[i] && r < rs[i] + kh && c >= cs[j] && c < cs[j] + kw;
            m[(i * w + j) * N + r * w + c] = inside ? 0f : float.NegativeInfinity;
        }
        return tensor(m, [N, N]).DetachFromDisposeScope();
    });

    /// <summary>The same attention written as dense attention with the N x N <see cref="Mask"/> (the small-map path, and the reference the tiled path is tested against).</summary>
    public static Tensor DenseReference(Tensor q, Tensor k, Tensor v, int kernelH, int kernelW, double scale)
    {
        using var scope = NewDisposeScope();
        long B = q.shape[0], heads = q.shape[1], d = q.shape[4];
        int H = (int)q.shape[2], W = (int)q.shape[3], N = H * W;
        var bias = Mask(H, W, kernelH, kernelW);   // shared: never disposed here
        var qf = q.reshape(B, heads, N, d); var kf = k.reshape(B, heads, N, d); var vf = v.reshape(B, heads, N, d);
        var attn = qf.mul(scale).matmul(kf.transpose(-2, -1)).add(bias).softmax(-1);
        return attn.matmul(vf).reshape(B, heads, H, W, d).MoveToOuterDisposeScope();
    }
}
