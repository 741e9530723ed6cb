using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>The lowest-resolution stage shared by encoder and decoder: resnet, (attention), resnet.</summary>
public sealed class MidBlock : nn.Module<Tensor, Tensor>
{
    readonly ResnetBlock block_1, block_2;
    readonly AttnBlock? attn_1;

    public MidBlock(long channels, bool usingMidSa, double dropout) : base(nameof(MidBlock))
    {
        block_1 = new ResnetBlock(channels, channels, dropout);
        if (usingMidSa) attn_1 = new AttnBlock(channels);
        block_2 = new ResnetBlock(channels, channels, dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x_BChw)
    {
        using var scope = NewDisposeScope();
        var h = block_1.forward(x_BChw);
        if (attn_1 != null) h = attn_1.forward(h);
        return block_2.forward(h).MoveToOuterDisposeScope();
    }
}
