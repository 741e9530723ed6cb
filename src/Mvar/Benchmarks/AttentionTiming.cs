using System.Diagnostics;
using Mvar.Diagnostics;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Benchmarks;

/// <summary>
/// The attention core of one block at one inference scale, timed alone: softmax(q k^T) v for random q, k, v of the
/// model's shapes (rows x heads x tokens x head_dim), with the keys the architecture's pattern gives that scale (VAR:
/// every token of this and earlier scales, as its KV cache holds them; MVAR: this scale, dense or neighbourhood). The
/// projections and the MLP are excluded: this is the part whose cost per token VAR and MVAR scale differently.
/// </summary>
public static class AttentionTiming
{
    /// <summary>Median seconds of one block's attention at scale <paramref name="si"/> for <paramref name="rows"/> sequences.</summary>
    public static double Seconds(ScaleTransformer model, int si, long rows, int repeats = 3)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var layout = model.Layout;
        int heads = model.Config.NumHeads, d = model.Config.HeadDim, l = layout.End(si) - layout.Begin(si);
        using var cache = model.NewKvCache();
        var spec = model.Pattern.ForInference(si, cache);
        var dtype = model.ComputeType;
        var q = randn([rows, heads, l, d], dtype: dtype);
        long keys = spec is AttentionSpec.Cached ? layout.End(si) : l;
        var k = randn([rows, heads, keys, d], dtype: dtype);
        var v = randn([rows, heads, keys, d], dtype: dtype);
        Func<Tensor> attend = spec is AttentionSpec.Neighborhood na
            ? () => SelfAttention.NeighborhoodAttention(q, k, v, na, 1.0)
            : () => SelfAttention.DenseAttention(q, k, v, 1.0, null);
        attend().Dispose();   // warm-up (and the neighbourhood path's cached plan)
        var times = new List<double>();
        var sw = new Stopwatch();
        for (int i = 0; i < Math.Max(1, repeats); i++)
        {
            sw.Restart();
            attend().Dispose();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return Statistics.Median(times);
    }
}
