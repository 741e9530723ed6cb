using Mvar.Config;
using Mvar.Tokens;
using Mvar.Transformer;

namespace Mvar.Sampling;

/// <summary>
/// Analytic floating-point operations of one class-conditional sampling run of the transformer (2 FLOPs per
/// multiply-add; matmuls only: word_embed, ada_lin, q/k/v, attention scores and weighted sum, proj, ffn, head_nm's
/// ada_lin, head). Element-wise work (norms, softmax, GELU, filtering, the quantizer) is not counted.
/// </summary>
public sealed record SamplingFlops(double WordEmbed, double AdaLn, double QkvProj, double Attention, double Ffn, double Head)
{
    public double Total => WordEmbed + AdaLn + QkvProj + Attention + Ffn + Head;

    /// <summary>
    /// FLOPs of sampling <paramref name="batch"/> images. With guidance the transformer runs the doubled (cond, uncond)
    /// batch. Keys per query: VAR all tokens of this and earlier scales (KV cache); MVAR this scale's tokens below
    /// refine_step, kernel x kernel neighbours from refine_step on.
    /// </summary>
    public static SamplingFlops For(TransformerConfig t, TokenizerConfig tok, int batch, bool guided)
    {
        var layout = new ScaleLayout(tok.PatchNums);
        var pattern = AttentionPatterns.For(t, layout);
        double C = t.EmbedDim, D = t.EmbedDim, V = tok.VocabSize, Cv = tok.ZChannels;
        double hidden = Math.Round(C * t.MlpRatio, MidpointRounding.ToEven);
        double Bx = guided ? 2.0 * batch : batch, depth = t.Depth;
        double we = 0, ada = 0, qkv = 0, att = 0, ffn = 0, head = 0;
        for (int si = 0; si < layout.Count; si++)
        {
            double l = (double)layout.Side(si) * layout.Side(si), rows = Bx * l;
            double keys = pattern.KeysPerQuery(si);
            if (si > 0) we += rows * 2 * Cv * C;
            ada += (t.SharedAln ? 1 : depth) * Bx * 2 * D * 6 * C + Bx * 2 * D * 2 * C;
            qkv += depth * rows * 2 * (3 * C * C + C * C);
            att += depth * Bx * 4 * l * keys * C;
            ffn += depth * rows * 2 * (2 * C * hidden);
            head += rows * 2 * C * V;
        }
        return new SamplingFlops(we, ada, qkv, att, ffn, head);
    }
}
