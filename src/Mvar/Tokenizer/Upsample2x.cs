using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>Doubles h and w: nearest-neighbour repeat, then a 3x3 conv.</summary>
public sealed class Upsample2x : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;

    public Upsample2x(long channels) : base(nameof(Upsample2x))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 1, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x_BChw)
    {
        using var big = nn.functional.interpolate(x_BChw, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return conv.forward(big);
    }
}
