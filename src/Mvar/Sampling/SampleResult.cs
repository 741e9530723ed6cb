using static TorchSharp.torch;

namespace Mvar.Sampling;

/// <summary>Generated samples: their classes, the tokens of every scale (B, pn*pn), and the final feature map f_hat.</summary>
public sealed class SampleResult(long[] classes, IReadOnlyList<Tensor> tokens, Tensor fHat, ulong seed) : IDisposable
{
    public long[] Classes { get; } = classes;
    public IReadOnlyList<Tensor> Tokens { get; } = tokens;
    /// <summary>(B, Cvae, pn_last, pn_last): decode with the tokenizer's FhatToImg.</summary>
    public Tensor FHat { get; } = fHat;
    /// <summary>The generator seed used (the given one, or the random one chosen).</summary>
    public ulong Seed { get; } = seed;
    /// <summary>Bytes the KV cache held at the end of sampling (VAR); 0 without a cache (MVAR).</summary>
    public long KvCacheBytes { get; init; }

    /// <summary>Tokens of sample <paramref name="b"/>: one row-major array per scale.</summary>
    public long[][] TokensOf(int b) => Tokens.Select(t => t[b].data<long>().ToArray()).ToArray();

    public void Dispose()
    {
        foreach (var t in Tokens) t.Dispose();
        FHat.Dispose();
    }
}
