using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Evaluation;

/// <summary>
/// How often an approximate model (e.g. int8 GEMMs) picks the exact model's greedy token, per scale, teacher-forced:
/// the exact model samples greedily (top-k 1, guidance as given), then the approximate one runs on the same classes
/// with every scale's input built from the exact tokens (a <see cref="TokenOverride"/> keeping all of them), and its
/// own greedy pick (the argmax of its guided logits) is compared position by position. Forcing keeps one early
/// disagreement from turning every later scale into a different image.
/// </summary>
public static class GreedyAgreement
{
    /// <returns>per scale, the fraction of positions (over all samples) where the two greedy picks agree</returns>
    public static double[] PerScale(ScaleTransformer exact, ScaleTransformer approx, VqVae vae, IReadOnlyList<long> classes, double cfg, int batch = 50,
        Action<int>? progress = null)
    {
        if (batch < 1) throw new MvarException($"batch must be at least 1, got {batch}");
        if (!exact.Layout.PatchNums.SequenceEqual(approx.Layout.PatchNums)) throw new MvarException("the two models have different scales");
        var greedy = new SamplingOptions { Cfg = cfg, TopK = 1, TopP = 0, Seed = 0 };
        int K = exact.Layout.Count;
        var agree = new long[K]; var total = new long[K];
        for (int start = 0; start < classes.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            var chunk = classes.Skip(start).Take(batch).ToArray();
            using var reference = new ScaleSampler(exact, vae).Sample(chunk, 0, greedy);
            using var force = new TokenOverride(reference.Tokens, reference.Tokens.Select(t => ones_like(t, dtype: ScalarType.Bool)).ToList());
            using var _ = new ScaleSampler(approx, vae).Sample(chunk, 0, greedy, step =>
            {
                var pick_Bl = step.Logits_BlV.argmax(-1);
                agree[step.Si] += pick_Bl.eq(reference.Tokens[step.Si]).sum().item<long>();
                total[step.Si] += pick_Bl.numel();
            }, force);
            progress?.Invoke(start + chunk.Length);
        }
        return agree.Select((a, si) => total[si] == 0 ? double.NaN : (double)a / total[si]).ToArray();
    }
}
