using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>The normalisation and activation every VQ-VAE block uses.</summary>
public static class Norm
{
    /// <summary>GroupNorm with 32 groups and eps 1e-6 (the official <c>Normalize</c>).</summary>
    public static GroupNorm Make(long channels) => nn.GroupNorm(32, channels, eps: 1e-6, affine: true);

    /// <summary>swish: x * sigmoid(x).</summary>
    public static Tensor Swish(Tensor x) => nn.functional.silu(x);

    /// <summary>swish in place.</summary>
    public static Tensor Swish_(Tensor x) => nn.functional.silu(x, inplace: true);
}
