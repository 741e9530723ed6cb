using static TorchSharp.torch;

namespace Mvar.Sampling;

/// <summary>The official logit filtering before a draw (VAR's <c>sample_with_top_k_top_p_</c>), in place on (..., V).</summary>
public static class TopKTopP
{
    /// <summary>
    /// top-k > 0: keeps the logits >= the k-th largest (ties kept). top-p > 0: sorts ascending and removes the
    /// entries whose cumulative softmax is <= 1 - top_p, never the largest one. Removed entries become -inf.
    /// </summary>
    public static Tensor Filter_(Tensor logits, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        long V = logits.shape[^1];
        if (topK > 0 && topK < V)
        {
            var kth = logits.topk(topK, dim: -1, largest: true, sorted: false).values.amin([-1], keepdim: true);
            logits.masked_fill_(logits.lt(kth), float.NegativeInfinity);
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
