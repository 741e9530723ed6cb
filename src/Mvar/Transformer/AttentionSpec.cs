using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>What the attention of every block does in one forward call. Made by an <see cref="IAttentionPattern"/>.</summary>
public abstract record AttentionSpec
{
    /// <summary>Every token attends to every token of the call, plus an optional additive mask (1, 1, L, L) of 0 / -inf.</summary>
    public sealed record Dense(Tensor? Bias_11LL = null) : AttentionSpec;

    /// <summary>The call's tokens attend to themselves and to all earlier tokens kept in <paramref name="Cache"/> (VAR inference).</summary>
    public sealed record Cached(KvCache Cache) : AttentionSpec;

    /// <summary>The call's tokens form one H x W map; each attends to its kernelH x kernelW neighbourhood (NATTEN borders).</summary>
    public sealed record Neighborhood(int Height, int Width, int KernelH, int KernelW) : AttentionSpec;
}
