using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>norm-swish-conv twice plus a skip (a 1x1 conv when the channel count changes).</summary>
public sealed class ResnetBlock : nn.Module<Tensor, Tensor>
{
    readonly GroupNorm norm1, norm2;
    readonly Conv2d conv1, conv2;
    readonly Dropout dropout;
    readonly Conv2d? nin_shortcut;

    public ResnetBlock(long inChannels, long outChannels, double dropoutRate) : base(nameof(ResnetBlock))
    {
        norm1 = Norm.Make(inChannels);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, stride: 1, padding: 1);
        norm2 = Norm.Make(outChannels);
        dropout = nn.Dropout(dropoutRate);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1);
        if (inChannels != outChannels) nin_shortcut = nn.Conv2d(inChannels, outChannels, 1, stride: 1, padding: 0L);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x_BChw)
    {
        using var scope = NewDisposeScope();
        // each intermediate is freed as soon as the next one exists (the decoder's maps are large at 256 px)
        var h = norm1.forward(x_BChw);
        h = Step(h, conv1.forward(Norm.Swish_(h)));
        h = Step(h, norm2.forward(h));
        h = Step(h, conv2.forward(dropout.forward(Norm.Swish_(h))));
        if (nin_shortcut is null) return h.add_(x_BChw).MoveToOuterDisposeScope();
        var skip = nin_shortcut.forward(x_BChw);
        return skip.add_(h).MoveToOuterDisposeScope();   // skip + h, in the official operand order
    }

    static Tensor Step(Tensor previous, Tensor next)
    {
        previous.Dispose();
        return next;
    }
}
