using Mvar.Tokens;
using static TorchSharp.torch;

namespace Mvar.Sampling;

/// <summary>Generated samples: their classes, the token maps of every scale, and the final feature map f_hat.</summary>
public sealed class SampleResult(long[] classes, TokenMaps tokens, Tensor fHat, ulong seed) : IDisposable
{
    /// <summary>The class of every sample; num_classes (the guidance row) for an unconditional one.</summary>
    public long[] Classes { get; } = classes;
    public TokenMaps Tokens { get; } = tokens;
    /// <summary>(B, Cvae, pn_last, pn_last): decode with the tokenizer's FhatToImg.</summary>
    public Tensor FHat { get; } = fHat;
    /// <summary>The generator seed used (the given one, or the random one chosen).</summary>
    public ulong Seed { get; } = seed;
    /// <summary>Bytes the KV cache held at the end of sampling (VAR); 0 without a cache (MVAR).</summary>
    public long KvCacheBytes { get; init; }

    /// <summary>Tokens of sample <paramref name="b"/>: one row-major array per scale.</summary>
    public long[][] TokensOf(int b) => Tokens.Sample(b);

    /// <summary>The samples as a token file, each labelled with its class.</summary>
    public TokenFile ToTokenFile() => TokenFile.From(Tokens, Classes.Select(c => (long?)c).ToArray());

    public void Dispose()
    {
        Tokens.Dispose();
        FHat.Dispose();
    }
}
