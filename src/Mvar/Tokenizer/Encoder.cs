using Mvar.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>Image (B, in_channels, H, W) to latent (B, z_channels, H/2^(L-1), W/2^(L-1)), L = len(ch_mult).</summary>
public sealed class Encoder : nn.Module<Tensor, Tensor>
{
    /// <summary>One resolution of the encoder (the official anonymous <c>down[i]</c> module).</summary>
    public sealed class Level : nn.Module
    {
        public readonly ModuleList<ResnetBlock> block = new();
        public readonly ModuleList<AttnBlock> attn = new();
        public readonly Downsample2x? downsample;

        public Level(long chIn, long chOut, int numResBlocks, bool withAttn, bool withDownsample, double dropout) : base("Level")
        {
            for (int i = 0; i < numResBlocks; i++)
            {
                block.Add(new ResnetBlock(i == 0 ? chIn : chOut, chOut, dropout));
                if (withAttn) attn.Add(new AttnBlock(chOut));
            }
            if (withDownsample) downsample = new Downsample2x(chOut);
            RegisterComponents();
        }
    }

    readonly Conv2d conv_in;
    readonly ModuleList<Level> down = new();
    readonly MidBlock mid;
    readonly GroupNorm norm_out;
    readonly Conv2d conv_out;

    public Encoder(TokenizerConfig c) : base(nameof(Encoder))
    {
        int n = c.ChMult.Length;
        conv_in = nn.Conv2d(c.InChannels, c.Ch, 3, stride: 1, padding: 1);
        long chIn = c.Ch;
        for (int lvl = 0; lvl < n; lvl++)
        {
            long chOut = (long)c.Ch * c.ChMult[lvl];
            down.Add(new Level(chIn, chOut, c.NumResBlocks, withAttn: lvl == n - 1 && c.UsingSa, withDownsample: lvl != n - 1, c.Dropout));
            chIn = chOut;
        }
        mid = new MidBlock(chIn, c.UsingMidSa, c.Dropout);
        norm_out = Norm.Make(chIn);
        conv_out = nn.Conv2d(chIn, c.ZChannels, 3, stride: 1, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor img_BChw)
    {
        using var scope = NewDisposeScope();
        var h = conv_in.forward(img_BChw);
        foreach (var level in down)
        {
            for (int i = 0; i < level.block.Count; i++)
            {
                h = level.block[i].forward(h);
                if (level.attn.Count > 0) h = level.attn[i].forward(h);
            }
            if (level.downsample != null) h = level.downsample.forward(h);
        }
        h = mid.forward(h);
        return conv_out.forward(Norm.Swish(norm_out.forward(h))).MoveToOuterDisposeScope();
    }
}
