using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Transformer;

/// <summary>The adaptive LayerNorm in front of the classifier head: LN(x) (1 + scale) + shift, (scale, shift) from the class embedding.</summary>
public sealed class AdaLNBeforeHead : nn.Module
{
    readonly int C;
    readonly double normEps;
    readonly Sequential ada_lin;
    internal Linear AdaLinLinear => (Linear)ada_lin[1];

    public AdaLNBeforeHead(int embedDim, int condDim, double normEps) : base(nameof(AdaLNBeforeHead))
    {
        C = embedDim; this.normEps = normEps;
        ada_lin = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(condDim, 2 * embedDim)));
        register_module(nameof(ada_lin), ada_lin);
    }

    public Tensor forward(Tensor x_BLC, Tensor cond_BD) => ForwardModulated(x_BLC, Modulation(cond_BD));

    /// <summary>(scale, shift) of a class embedding, (B, 1, 2, C).</summary>
    public Tensor Modulation(Tensor cond_BD) => ada_lin.forward(cond_BD).view(-1, 1, 2, C);

    public Tensor ForwardModulated(Tensor x_BLC, Tensor two)
    {
        var p = two.unbind(2);
        return F.layer_norm(x_BLC, [C], null, null, normEps).mul(p[0].add(1)).add_(p[1]);
    }
}
