using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>Halves h and w: zero-pad one row/column at the bottom/right, then a stride-2 3x3 conv.</summary>
public sealed class Downsample2x : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;

    public Downsample2x(long channels) : base(nameof(Downsample2x))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 2, padding: 0L);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x_BChw)
    {
        using var padded = nn.functional.pad(x_BChw, [0, 1, 0, 1], PaddingModes.Constant, 0);
        return conv.forward(padded);
    }
}
