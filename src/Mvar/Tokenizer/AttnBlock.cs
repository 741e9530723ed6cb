using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>Single-head self-attention over all h*w positions of a feature map, with a residual connection.</summary>
public sealed class AttnBlock : nn.Module<Tensor, Tensor>
{
    readonly GroupNorm norm;
    readonly Conv2d qkv, proj_out;
    readonly long C;
    readonly double scale;

    public AttnBlock(long channels) : base(nameof(AttnBlock))
    {
        C = channels;
        scale = Math.Pow(channels, -0.5);
        norm = Norm.Make(channels);
        qkv = nn.Conv2d(channels, 3 * channels, 1, stride: 1, padding: 0L);
        proj_out = nn.Conv2d(channels, channels, 1, stride: 1, padding: 0L);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x_BChw)
    {
        using var scope = NewDisposeScope();
        var qkv_B3Chw = qkv.forward(norm.forward(x_BChw));
        long B = qkv_B3Chw.shape[0], H = qkv_B3Chw.shape[2], W = qkv_B3Chw.shape[3];
        var parts = qkv_B3Chw.reshape(B, 3, C, H, W).unbind(1);
        var q_BLC = parts[0].reshape(B, C, H * W).permute(0, 2, 1).contiguous();
        var k_BCL = parts[1].reshape(B, C, H * W).contiguous();
        var v_BCL = parts[2].reshape(B, C, H * W).contiguous();
        var w_BLL = bmm(q_BLC, k_BCL).mul_(scale).softmax(2);          // [b, query, key]
        var h_BCL = bmm(v_BCL, w_BLL.permute(0, 2, 1).contiguous());     // [b, c, query]
        return (x_BChw + proj_out.forward(h_BCL.view(B, C, H, W))).MoveToOuterDisposeScope();
    }
}
