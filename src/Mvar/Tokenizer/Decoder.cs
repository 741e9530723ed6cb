using Mvar.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>Latent (B, z_channels, h, w) to image (B, in_channels, h*2^(L-1), w*2^(L-1)); not clamped.</summary>
public sealed class Decoder : nn.Module<Tensor, Tensor>
{
    /// <summary>One resolution of the decoder (the official anonymous <c>up[i]</c> module; up[0] is the finest).</summary>
    public sealed class Level : nn.Module
    {
        public readonly ModuleList<ResnetBlock> block = new();
        public readonly ModuleList<AttnBlock> attn = new();
        public readonly Upsample2x? upsample;

        public Level(long chIn, long chOut, int numBlocks, bool withAttn, bool withUpsample, double dropout) : base("Level")
        {
            for (int i = 0; i < numBlocks; i++)
            {
                block.Add(new ResnetBlock(i == 0 ? chIn : chOut, chOut, dropout));
                if (withAttn) attn.Add(new AttnBlock(chOut));
            }
            if (withUpsample) upsample = new Upsample2x(chOut);
            RegisterComponents();
        }
    }

    readonly Conv2d conv_in;
    readonly MidBlock mid;
    readonly ModuleList<Level> up = new();
    readonly GroupNorm norm_out;
    readonly Conv2d conv_out;
    /// <summary>The weight of the last convolution (VQGAN's adaptive weight is measured at it).</summary>
    public Parameter LastWeight => conv_out.weight!;

    public Decoder(TokenizerConfig c) : base(nameof(Decoder))
    {
        int n = c.ChMult.Length;
        long chIn = (long)c.Ch * c.ChMult[n - 1];
        conv_in = nn.Conv2d(c.ZChannels, chIn, 3, stride: 1, padding: 1);
        mid = new MidBlock(chIn, c.UsingMidSa, c.Dropout);
        // built coarsest first (channel flow), stored finest first so that up[i] matches encoder level i
        var levels = new Level[n];
        for (int lvl = n - 1; lvl >= 0; lvl--)
        {
            long chOut = (long)c.Ch * c.ChMult[lvl];
            levels[lvl] = new Level(chIn, chOut, c.NumResBlocks + 1, withAttn: lvl == n - 1 && c.UsingSa, withUpsample: lvl != 0, c.Dropout);
            chIn = chOut;
        }
        foreach (var level in levels) up.Add(level);
        norm_out = Norm.Make(chIn);
        conv_out = nn.Conv2d(chIn, c.InChannels, 3, stride: 1, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor z_BChw)
    {
        using var scope = NewDisposeScope();
        // every stage's input is freed as soon as its output exists: at 256 px one map is 40 MB per image
        var h = conv_in.forward(z_BChw);
        h = Step(h, mid.forward(h));
        for (int lvl = up.Count - 1; lvl >= 0; lvl--)
        {
            var level = up[lvl];
            for (int i = 0; i < level.block.Count; i++)
            {
                h = Step(h, level.block[i].forward(h));
                if (level.attn.Count > 0) h = Step(h, level.attn[i].forward(h));
            }
            if (level.upsample != null) h = Step(h, level.upsample.forward(h));
        }
        h = Step(h, norm_out.forward(h));
        return conv_out.forward(Norm.Swish_(h)).MoveToOuterDisposeScope();
    }

    static Tensor Step(Tensor previous, Tensor next)
    {
        previous.Dispose();
        return next;
    }
}
