using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>
/// The residual refinement applied to a scale's up-sampled embedding: phi(h) = (1-r) h + r conv3x3(h), r = |quant_resi|.
/// Holds a 3x3 conv's <c>weight</c> and <c>bias</c> directly (the official Phi is a Conv2d subclass).
/// </summary>
public sealed class Phi : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight, bias;
    readonly double ratio;

    public Phi(long channels, double quantResi) : base(nameof(Phi))
    {
        ratio = Math.Abs(quantResi);
        using (var init = nn.Conv2d(channels, channels, 3, stride: 1, padding: 1))
        {
            weight = new Parameter(init.weight!.detach().clone(), requires_grad: false);
            bias = new Parameter(init.bias!.detach().clone(), requires_grad: false);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor h_BChw)
    {
        using var scope = NewDisposeScope();
        var conv = nn.functional.conv2d(h_BChw, weight, bias, strides: [1, 1], padding: [1, 1]);
        return h_BChw.mul(1 - ratio).add(conv.mul_(ratio)).MoveToOuterDisposeScope();
    }

    /// <summary>A phi, or the identity when |quant_resi| is (almost) zero, as the official code does.</summary>
    public static nn.Module<Tensor, Tensor> Make(long channels, double quantResi) =>
        Math.Abs(quantResi) > 1e-6 ? new Phi(channels, quantResi) : nn.Identity();
}
