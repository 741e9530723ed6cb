using static TorchSharp.torch;

namespace Mvar.Sampling;

/// <summary>The official logit filtering before a draw (VAR's <c>sample_with_top_k_top_p_</c>), in place on (..., V).</summary>
public static class TopKTopP
{
    /// <summary>
    /// top-k &gt; 0: keeps the logits &gt;= the k-th largest (ties kept). top-p &gt; 0: sorts ascending and removes the
    /// entries whose cumulative softmax is &lt;= 1 - top_p, never the largest one. Removed entries become -inf.
    /// </summary>
    public static Tensor Filter_(Tensor logits, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        long V = logits.shape[^1];
        if (topK > 0 && topK < V)
        {
            // one more than k: the (k+1)-th value tells whether the k-th is tied (then more than k entries are kept)
            int k1 = (int)Math.Min(topK + 1, V);
            var (top1, topIdx1) = logits.topk(k1, dim: -1, largest: true, sorted: true);
            var kth = top1.narrow(-1, topK - 1, 1);
            logits.masked_fill_(logits.lt(kth), float.NegativeInfinity);
            // Fast top-p: when no row has a tie at its k-th value (each keeps exactly k entries), the ascending sort of
            // a row is V-k times -inf followed by the top-k values reversed, so no full sort is needed. The softmax
            // still runs over the whole row (same values at the same positions: bitwise the sums of the full sort).
            if (topP > 0 && (k1 == topK || top1.narrow(-1, topK, 1).lt(kth).all().item<bool>()))
            {
                var top = top1.narrow(-1, 0, topK).flip(-1);
                var sorted = empty_like(logits);
                sorted.narrow(-1, 0, V - topK).fill_(float.NegativeInfinity);
                sorted.narrow(-1, V - topK, topK).copy_(top);
                var tail = sorted.softmax(-1).narrow(-1, V - topK, topK).to_type(ScalarType.Float64).cumsum(-1).to_type(ScalarType.Float32);
                var removeTail = tail.le((float)(1 - topP));
                removeTail[TensorIndex.Ellipsis, TensorIndex.Slice(-1, null)] = tensor(false);
                var remove = zeros_like(logits, dtype: ScalarType.Bool).scatter_(-1, topIdx1.narrow(-1, 0, topK).flip(-1), removeTail);
                logits.masked_fill_(remove, float.NegativeInfinity);
                return logits;
            }
        }
        if (topP > 0)
        {
            var (sorted, sortedIdx) = logits.sort(dim: -1, descending: false);
            // torch's CPU cumsum of float32 accumulates in double and rounds each partial sum to float32
            var cum = sorted.softmax(-1).to_type(ScalarType.Float64).cumsum(-1).to_type(ScalarType.Float32);
            var remove = cum.le((float)(1 - topP));
            remove[TensorIndex.Ellipsis, TensorIndex.Slice(-1, null)] = tensor(false);
            logits.masked_fill_(remove.scatter(-1, sortedIdx, remove), float.NegativeInfinity);
        }
        return logits;
    }
}
