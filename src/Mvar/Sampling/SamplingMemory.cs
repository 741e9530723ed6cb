using Mvar.Config;
using Mvar.Transformer;

namespace Mvar.Sampling;

/// <summary>
/// A rough upper estimate of the memory sampling <c>n</c> images at once takes (weights, VAR's KV cache, the largest
/// scale's activations and logits for the guided batch, decoding, output images), so that a --count the machine
/// cannot hold fails at once with the numbers instead of at the allocator.
/// </summary>
public static class SamplingMemory
{
    /// <summary>Most samples one command draws at once.</summary>
    public const int MaxSamples = 65536;

    public static double Estimate(ModelConfig config, int n, bool progression = false)
    {
        var t = config.Tokenizer;
        var m = config.Transformer ?? new TransformerConfig();
        double B2 = 2.0 * n, L = t.TokenCount, C = m.EmbedDim, pn2 = (double)t.PatchNums[^1] * t.PatchNums[^1], S2 = (double)t.ImageSize * t.ImageSize;
        double weights = 4 * (m.ParameterEstimate(t) + 60.0 * t.Ch * t.Ch * t.ChMult.Max() * t.ChMult.Max());
        double kvCache = AttentionPatterns.For(m, t).UsesKvCache ? m.Depth * 2 * B2 * L * C * 4 : 0;
        double activations = B2 * pn2 * C * 4 * (m.MlpRatio + 8) + B2 * pn2 * t.VocabSize * 4 * 3;
        double decode = n * (double)t.Ch * t.ChMult[0] * S2 * 4 * 6;
        double images = n * 3 * S2 * 4 * (progression ? t.PatchNums.Length + 4 : 4);
        return weights + kvCache + activations + decode + images;
    }

    /// <summary>Checks <paramref name="n"/> against <see cref="MaxSamples"/> and the machine's available memory.</summary>
    public static void Require(ModelConfig config, int n, string what, bool progression = false)
    {
        if (n > MaxSamples) throw new MvarException($"{what}: {n} samples at once is more than the {MaxSamples} accepted");
        MemoryBudget.Require(Estimate(config, n, progression), $"{what} ({n} samples of {config.Tokenizer.ImageSize}x{config.Tokenizer.ImageSize} at once)");
    }
}
