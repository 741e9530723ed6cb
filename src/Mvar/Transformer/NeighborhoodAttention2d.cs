using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>
/// 2-D neighbourhood attention with NATTEN semantics (non-causal, dilation 1, no positional bias): the query at (i, j)
/// attends to the kh x kw window whose top-left corner is (clamp(i - kh/2, 0, H - kh), clamp(j - kw/2, 0, W - kw)),
/// i.e. the window is shifted inwards at the borders and always holds kh*kw keys. A kernel larger than the map is
/// clamped to the map's side (NATTEN rejects it; here the window is then the whole axis).
/// Cost O(N kh kw d) time and bounded memory: query tiles against the key windows that cover them, never N x N.
/// </summary>
public static class NeighborhoodAttention2d
{
    /// <summary>Window start of every query row (or column): clamp(i - kernel/2, 0, size - kernel), kernel clamped to size.</summary>
    public static long[] WindowStarts(int size, int kernel)
    {
        if (kernel < 1 || size < 1) throw new ArgumentException($"neighbourhood kernel {kernel} and map side {size} must be positive");
        kernel = Math.Min(kernel, size);
        var s = new long[size];
        for (int i = 0; i < size; i++) s[i] = Math.Clamp(i - kernel / 2, 0, size - kernel);
        return s;
    }

    /// <summary>Side of the square query tiles of the tiled path (a map side below it is one tile along that axis).</summary>
    public const int TileSide = 8;

    /// <summary>Most attention scores (float32: 32 MB) one chunk of tiles holds.</summary>
    public const long MaxScoresPerChunk = 8L << 20;

    /// <summary>
    /// How the tiled path splits a map: th x tw query tiles, each against a KH x KW key window
    /// (KH = min(H, th + kh - 1)), with the tile offsets clamped into the map (the last tile of a row or column may
    /// overlap its neighbour; each query's output is taken from one tile). Cached per shape; never disposed.
    /// </summary>
    sealed record TilePlan(int Tiles, int QueriesPerTile, int KeysPerTile, Tensor QueryIdx, Tensor KeyIdx, Tensor Bias, Tensor OutputIdx);

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int, int, int), TilePlan> plans = new();

    static TilePlan Plan(int H, int W, int kernelH, int kernelW) => plans.GetOrAdd((H, W, kernelH, kernelW), key =>
    {
        var (h, w, kh, kw) = key;
        kh = Math.Min(kh, h); kw = Math.Min(kw, w);
        long[] rs = WindowStarts(h, kh), cs = WindowStarts(w, kw);
        int th = Math.Min(TileSide, h), tw = Math.Min(TileSide, w);
        int KH = Math.Min(h, th + kh - 1), KW = Math.Min(w, tw + kw - 1);
        int[] tileRows = TileOffsets(h, th), tileCols = TileOffsets(w, tw);
        int T = tileRows.Length * tileCols.Length, Q = th * tw, K = KH * KW;
        var qIdx = new long[T * Q]; var kIdx = new long[T * K]; var bias = new float[T * Q * K]; var outIdx = new long[h * w];
        int t = 0;
        foreach (int r0 in tileRows)
            foreach (int c0 in tileCols)
            {
                // the tile's key window covers every window of its queries: starts are monotone and step by at most 1
                int R0 = (int)Math.Min(rs[r0], h - KH), C0 = (int)Math.Min(cs[c0], w - KW);
                for (int a = 0; a < KH; a++)
                    for (int b = 0; b < KW; b++) kIdx[t * K + a * KW + b] = (R0 + a) * w + C0 + b;
                for (int i = 0; i < th; i++)
                    for (int j = 0; j < tw; j++)
                    {
                        int qi = r0 + i, qj = c0 + j, slot = t * Q + i * tw + j;
                        qIdx[slot] = qi * w + qj;
                        outIdx[qi * w + qj] = slot;   // a query in two overlapping tiles: the later tile's copy
                        for (int a = 0; a < KH; a++)
                            for (int b = 0; b < KW; b++)
                            {
                                long kr = R0 + a, kc = C0 + b;
                                bool inside = kr >= rs[qi] && kr < rs[qi] + kh && kc >= cs[qj] && kc < cs[qj] + kw;
                                bias[((long)slot * KH + a) * KW + b] = inside ? 0f : float.NegativeInfinity;
                            }
                    }
                t++;
            }
        return new TilePlan(T, Q, K, tensor(qIdx).DetachFromDisposeScope(), tensor(kIdx, [T, K]).DetachFromDisposeScope(),
            tensor(bias, [T, Q, K]).DetachFromDisposeScope(), tensor(outIdx).DetachFromDisposeScope());
    });

    /// <summary>Tile offsets 0, tile, 2 tile, ... with the last clamped to size - tile (ceil(size / tile) tiles).</summary>
    static int[] TileOffsets(int size, int tile) =>
        Enumerable.Range(0, (size + tile - 1) / tile).Select(i => Math.Min(i * tile, size - tile)).ToArray();

    /// <summary>
    /// How many (batch x head) rows and tiles one chunk of the tiled path takes, so that a chunk holds at most
    /// <see cref="MaxScoresPerChunk"/> scores (or one tile of one row when even that is more), and the chunk's score count.
    /// </summary>
    public static (long rows, int tiles, long scores) ChunkOf(long batchTimesHeads, int H, int W, int kernelH, int kernelW,
        long maxScores = MaxScoresPerChunk)
    {
        var plan = Plan(H, W, kernelH, kernelW);
        long perTileRow = (long)plan.QueriesPerTile * plan.KeysPerTile;
        long rows = Math.Clamp(maxScores / perTileRow, 1, batchTimesHeads);
        int tiles = (int)Math.Clamp(maxScores / (rows * perTileRow), 1, plan.Tiles);
        return (rows, tiles, rows * tiles * perTileRow);
    }

    /// <summary>q, k, v: (B, heads, H, W, d) -> (B, heads, H, W, d); weights = softmax over the window of (q.k) * scale.</summary>
    /// <remarks>
    /// The map is cut into th x tw query tiles (8 x 8); the windows of a tile's queries all lie in one
    /// (th + kh - 1) x (tw + kw - 1) key window, so a tile is one small matmul against its gathered window, with the keys
    /// outside each query's own window masked to -inf. Every query scores at most (th + kh - 1)(tw + kw - 1) keys
    /// (196 at k = 7): O(N k^2 d) time. Tiles run in chunks of at most <see cref="MaxScoresPerChunk"/> scores
    /// (<see cref="ChunkOf"/>), so the working memory is bounded whatever the map size.
    /// </remarks>
    /// <param name="maxScores">the chunk bound (tests lower it to exercise the chunking)</param>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, int kernelH, int kernelW, double scale, long maxScores = MaxScoresPerChunk)
    {
        using var scope = NewDisposeScope();
        long B = q.shape[0], heads = q.shape[1], d = q.shape[4];
        int H = (int)q.shape[2], W = (int)q.shape[3], N = H * W;
        var plan = Plan(H, W, kernelH, kernelW);
        var (rowsPerChunk, tilesPerChunk, _) = ChunkOf(B * heads, H, W, kernelH, kernelW, maxScores);
        int Q = plan.QueriesPerTile, K = plan.KeysPerTile;
        var qf = (scale == 1.0 ? q : q.mul(scale)).reshape(B * heads, N, d);
        var kf = k.reshape(B * heads, N, d); var vf = v.reshape(B * heads, N, d);
        var device = q.device;

        var rowParts = new List<Tensor>();
        for (long r0 = 0; r0 < B * heads; r0 += rowsPerChunk)
        {
            long rows = Math.Min(rowsPerChunk, B * heads - r0);
            Tensor qr = qf.narrow(0, r0, rows), kr = kf.narrow(0, r0, rows), vr = vf.narrow(0, r0, rows);
            var tileParts = new List<Tensor>();
            for (int t0 = 0; t0 < plan.Tiles; t0 += tilesPerChunk)
            {
                using var chunk = NewDisposeScope();
                int tiles = Math.Min(tilesPerChunk, plan.Tiles - t0);
                var qIdx = plan.QueryIdx.narrow(0, (long)t0 * Q, (long)tiles * Q).to(device);
                var kIdx = plan.KeyIdx.narrow(0, t0, tiles).reshape(-1).to(device);
                var qt = qr.index_select(1, qIdx).view(rows, tiles, Q, d);
                var kt = kr.index_select(1, kIdx).view(rows, tiles, K, d);
                var vt = vr.index_select(1, kIdx).view(rows, tiles, K, d);
                var attn = qt.matmul(kt.transpose(-2, -1)).add_(plan.Bias.narrow(0, t0, tiles).to(device)).softmax(-1);   // (rows, tiles, Q, K)
                tileParts.Add(attn.matmul(vt).view(rows, (long)tiles * Q, d).MoveToOuterDisposeScope());
            }
            var tiled = tileParts.Count == 1 ? tileParts[0] : cat(tileParts, dim: 1);   // (rows, T * Q, d)
            rowParts.Add(tiled.index_select(1, plan.OutputIdx.to(device)));               // (rows, N, d)
        }
        var o = rowParts.Count == 1 ? rowParts[0] : cat(rowParts, dim: 0);
        return o.view(B, heads, H, W, d).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Maps of at most this many tokens (21x21) run the neighbourhood attention as dense attention with an N x N
    /// additive mask (<see cref="Mask"/>): up to 21x21 (k = 7, 32 rows of head_dim 64) that was as fast or faster on
    /// this 2-core CPU than the tiled path, whose gathers and small matmuls cost more than the masked-out scores there
    /// (16x16: 48 against 79 ms; 21x21: 137 against 168 ms; 24x24: 356 against 221 ms). Larger maps (24x24, 32x32 at
    /// 512 px; 27x27 to 64x64 at 1024 px) use the tiled O(N k^2) path, with no N x N matrix.
    /// </summary>
    public const int DenseMaxTokens = 21 * 21;

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int, int, int), Tensor> masks = new();

    /// <summary>
    /// The additive mask (N, N) of 0 (key inside the query's window) and -inf, N = H * W, row-major positions.
    /// Cached per shape and shared: callers must not modify or dispose it.
    /// </summary>
    public static Tensor Mask(int H, int W, int kernelH, int kernelW) => masks.GetOrAdd((H, W, kernelH, kernelW), key =>
    {
        var (h, w, kh, kw) = key;
        kh = Math.Min(kh, h); kw = Math.Min(kw, w);
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

    /// <summary>The same attention written as dense attention with the N x N <see cref="Mask"/> (the small-map path, and the reference the tiled path is
    /// tested against).</summary>
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
