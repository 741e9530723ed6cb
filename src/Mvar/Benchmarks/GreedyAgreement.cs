using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Benchmarks;

/// <summary>
/// How often an approximate model (e.g. int8 GEMMs) picks the exact model's greedy token, per scale, teacher-forced:
/// the exact model samples (the given options: top-k/top-p draws, so the samples differ even within a class), then
/// the approximate one runs on the same classes with every scale's input built from the exact model's tokens (a
/// <see cref="TokenOverride"/> keeping all of them); at every position the argmax of the two models' guided logits,
/// given the same input, is compared. Forcing keeps one early disagreement from turning every later scale into a
/// different image.
/// </summary>
public static class GreedyAgreement
{
    /// <returns>per scale, the fraction of positions (over all samples) where the two greedy picks agree</returns>
    public static double[] PerScale(ScaleTransformer exact, ScaleTransformer approx, VqVae vae, IReadOnlyList<long> classes, SamplingOptions options,
        int batch = 50,
        Action<int>? progress = null)
    {
        if (batch < 1) throw new MvarException($"batch must be at least 1, got {batch}");
        if (!exact.Layout.PatchNums.SequenceEqual(approx.Layout.PatchNums)) throw new MvarException("the two models have different scales");
        int K = exact.Layout.Count;
        var agree = new long[K]; var total = new long[K];
        for (int start = 0, call = 0; start < classes.Count; start += batch, call++)
        {
            using var scope = NewDisposeScope();
            var chunk = classes.Skip(start).Take(batch).ToArray();
            var seeded = options with { Seed = (options.Seed ?? 0) + (ulong)call };
            var exactPick = new Tensor[K];
            using var reference = new ScaleSampler(exact, vae).Sample(chunk, 0, seeded,
                step => exactPick[step.Si] = step.Logits_BlV.argmax(-1).DetachFromDisposeScope());
            using var force = new TokenOverride(reference.Tokens, reference.Tokens.Select(t => ones_like(t, dtype: ScalarType.Bool)).ToList());
            using var _ = new ScaleSampler(approx, vae).Sample(chunk, 0, seeded, step =>
            {
                var pick_Bl = step.Logits_BlV.argmax(-1);
                agree[step.Si] += pick_Bl.eq(exactPick[step.Si]).sum().item<long>();
                total[step.Si] += pick_Bl.numel();
            }, force);
            foreach (var t in exactPick) t?.Dispose();
            progress?.Invoke(start + chunk.Length);
        }
        return agree.Select((a, si) => total[si] == 0 ? double.NaN : (double)a / total[si]).ToArray();
    }
}
