using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>The block MLP: fc1, GELU (tanh approximation), fc2.</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    readonly PackedLinear fc1, fc2;

    public FeedForward(int embedDim, int hiddenDim) : base(nameof(FeedForward))
    {
        fc1 = new PackedLinear(embedDim, hiddenDim);
        fc2 = new PackedLinear(hiddenDim, embedDim);
        register_module(nameof(fc1), fc1);
        register_module(nameof(fc2), fc2);
    }

    internal Tensor Fc2Weight => fc2.Weight;

    public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x).gelu(GELU.Approximate.tanh));
}
