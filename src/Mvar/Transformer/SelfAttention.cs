using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Transformer;

/// <summary>
/// Multi-head self-attention of a VAR block. q and v have learnt biases, k none (the zero_k_bias buffer). With
/// attn_l2_norm, q and k are L2-normalised and q is multiplied by a learnt per-head scale exp(min(s, ln 100)) (softmax
/// scale 1); otherwise the softmax scale is 0.25/sqrt(head_dim). Which tokens see which is the <see cref="AttentionSpec"/>.
/// </summary>
public sealed class SelfAttention : nn.Module
{
    readonly int blockIdx, numHeads, headDim;
    readonly bool l2Norm;
    readonly double scale;
    static readonly double MaxScaleMul = (float)Math.Log(100);   // the official value is float32(ln 100)

    readonly PackedLinear mat_qkv, proj;
    readonly Parameter q_bias, v_bias;
    readonly Parameter? scale_mul_1H11;
    readonly Tensor zero_k_bias;

    public SelfAttention(int blockIdx, int embedDim, int numHeads, bool attnL2Norm) : base(nameof(SelfAttention))
    {
        this.blockIdx = blockIdx; this.numHeads = numHeads; headDim = embedDim / numHeads;
        l2Norm = attnL2Norm;
        if (l2Norm)
        {
            scale = 1.0;
            scale_mul_1H11 = nn.Parameter(full([1, numHeads, 1, 1], 4.0f).log_());
            register_parameter(nameof(scale_mul_1H11), scale_mul_1H11);
        }
        else scale = 0.25 / Math.Sqrt(headDim);

        mat_qkv = new PackedLinear(embedDim, 3 * embedDim, hasBias: false);
        q_bias = nn.Parameter(zeros(embedDim));
        v_bias = nn.Parameter(zeros(embedDim));
        zero_k_bias = zeros(embedDim);
        proj = new PackedLinear(embedDim, embedDim);
        register_module(nameof(mat_qkv), mat_qkv);
        register_parameter(nameof(q_bias), q_bias);
        register_parameter(nameof(v_bias), v_bias);
        register_buffer(nameof(zero_k_bias), zero_k_bias);
        register_module(nameof(proj), proj);
    }

    internal Tensor ProjWeight => proj.Weight;

    /// <param name="probe">optional: receives this block's attention probabilities (analysis; null costs nothing)</param>
    public Tensor forward(Tensor x_BLC, AttentionSpec spec, AttentionProbe? probe = null)
    {
        long B = x_BLC.shape[0], L = x_BLC.shape[1], C = x_BLC.shape[2];
        var bias = cat([q_bias, zero_k_bias, v_bias]);
        var qkv = mat_qkv.Forward(x_BLC, bias).view(B, L, 3, numHeads, headDim);
        var qkv_3BHLc = qkv.permute(2, 0, 3, 1, 4);
        Tensor q = qkv_3BHLc[0], k = qkv_3BHLc[1], v = qkv_3BHLc[2];
        if (l2Norm)
        {
            var scaleMul = scale_mul_1H11!.clamp_max(MaxScaleMul).exp();
            q = F.normalize(q, dim: -1).mul(scaleMul);
            k = F.normalize(k, dim: -1);
        }

        Tensor oup_BLC;
        switch (spec)
        {
            case AttentionSpec.Dense dense:
                oup_BLC = Attend(q, k, v, dense.Bias_11LL, probe).transpose(1, 2).reshape(B, L, C);
                break;
            case AttentionSpec.Cached cached:
                var (kAll, vAll) = cached.Cache.Append(blockIdx, k, v);
                oup_BLC = Attend(q, kAll, vAll, null, probe).transpose(1, 2).reshape(B, L, C);
                break;
            case AttentionSpec.Neighborhood na:
                if (na.Height * na.Width != L) throw new ArgumentException($"neighbourhood map {na.Height}x{na.Width} does not hold {L} tokens");
                if (probe is not null) probe(new AttentionProbs(blockIdx, DenseProbs(q, k, scale, null), Unwindowed: true));
                oup_BLC = NeighborhoodAttention(q, k, v, na, scale).transpose(1, 2).reshape(B, L, C);
                break;
            default: throw new ArgumentException($"unknown attention spec {spec}");
        }
        return proj.forward(oup_BLC);
    }

    Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? bias, AttentionProbe? probe)
    {
        if (probe is null) return DenseAttention(q, k, v, scale, bias);
        var p = DenseProbs(q, k, scale, bias);
        probe(new AttentionProbs(blockIdx, p, Unwindowed: false));
        return p.matmul(v);
    }

    /// <summary>
    /// Neighbourhood attention of q, k, v (B, H, L, c) over the map of <paramref name="na"/>: (B, H, L, c). Maps of at most
    /// <see cref="NeighborhoodAttention2d.DenseMaxTokens"/> tokens run dense with the N x N mask, larger ones tiled.
    /// </summary>
    public static Tensor NeighborhoodAttention(Tensor q, Tensor k, Tensor v, AttentionSpec.Neighborhood na, double scale)
    {
        long B = q.shape[0], heads = q.shape[1], L = q.shape[2], c = q.shape[3];
        if (L <= NeighborhoodAttention2d.DenseMaxTokens)
            return DenseAttention(q, k, v, scale, NeighborhoodAttention2d.Mask(na.Height, na.Width, na.KernelH, na.KernelW));
        var shape = new long[] { B, heads, na.Height, na.Width, c };
        return NeighborhoodAttention2d.Forward(q.reshape(shape), k.reshape(shape), v.reshape(shape), na.KernelH, na.KernelW, scale).view(B, heads, L, c);
    }

    /// <summary>Most scores (B x heads x query rows x keys) one dense attention call materialises at once: 32M (128 MB in float32).</summary>
    public const long MaxDenseScores = 32L << 20;

    /// <summary>
    /// softmax((q * scale) k^T + bias) v for q (B, H, Lq, c), k and v (B, H, Lk, c) and a bias broadcast to (B, H, Lq, Lk).
    /// When the score matrix would exceed <see cref="MaxDenseScores"/> (VAR at 1024 px: 4096 queries x 9451 keys), the
    /// queries run in chunks of rows (each row's softmax is independent), so the working memory stays bounded.
    /// </summary>
    /// <param name="maxScores">the chunk bound (tests lower it to exercise the chunking)</param>
    public static Tensor DenseAttention(Tensor q, Tensor k, Tensor v, double scale, Tensor? bias, long maxScores = MaxDenseScores)
    {
        long rows = DenseChunkRows(q.shape[0] * q.shape[1], q.shape[2], k.shape[2], maxScores);
        long Lq = q.shape[2];
        if (rows >= Lq) return DenseProbs(q, k, scale, bias).matmul(v);
        var parts = new List<Tensor>();
        for (long r0 = 0; r0 < Lq; r0 += rows)
        {
            long n = Math.Min(rows, Lq - r0);
            // a bias with one row (or none) applies to every query row; otherwise its rows follow the queries'
            var rowBias = bias is null || bias.shape[^2] == 1 ? bias : bias.narrow(-2, r0, n);
            using var chunk = NewDisposeScope();
            parts.Add(DenseProbs(q.narrow(2, r0, n), k, scale, rowBias).matmul(v).MoveToOuterDisposeScope());
        }
        var o = cat(parts, dim: 2);
        foreach (var t in parts) t.Dispose();
        return o;
    }

    /// <summary>Query rows per chunk of <see cref="DenseAttention"/> (all of them when the scores fit <see cref="MaxDenseScores"/>).</summary>
    public static long DenseChunkRows(long batchTimesHeads, long queries, long keys, long maxScores = MaxDenseScores) =>
        Math.Clamp(maxScores / Math.Max(1, batchTimesHeads * keys), 1, Math.Max(1, queries));

    /// <summary>softmax((q * scale) k^T + bias): (B, H, Lq, Lk).</summary>
    public static Tensor DenseProbs(Tensor q, Tensor k, double scale, Tensor? bias)
    {
        var attn = (scale == 1.0 ? q : q.mul(scale)).matmul(k.transpose(-2, -1));
        if (bias is not null) attn.add_(bias);
        return attn.softmax(-1);
    }
}
