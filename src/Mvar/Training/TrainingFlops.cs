using Mvar.Config;
using Mvar.Tokens;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// Analytic floating-point operations of transformer training (2 FLOPs per multiply-add, matmuls only, as
/// <see cref="Sampling.SamplingFlops"/> counts them; the backward pass is taken as twice the forward, so a step costs
/// 3x its forward). Attention counts the keys each query really attends to, read from the architecture's own
/// <see cref="IAttentionPattern.ForTeacherForcing"/>: the unmasked entries of a dense mask, kernel x kernel (clipped to
/// the map) for neighbourhood attention. So VAR's block-causal forward over the whole pyramid and MVAR's scale groups
/// are counted by one rule; the dense masked kernels Mvar runs compute more than this at small maps.
/// </summary>
public static class TrainingFlops
{
    /// <summary>Forward + backward FLOPs of one teacher-forced step of <paramref name="batch"/> samples over the scales of <paramref name="group"/>.</summary>
    public static double PerStep(TransformerConfig t, TokenizerConfig tok, IAttentionPattern pattern, ScaleGroup group, int batch)
    {
        var layout = new ScaleLayout(tok.PatchNums);
        double C = t.EmbedDim, V = tok.VocabSize, Cv = tok.ZChannels, depth = t.Depth;
        double hidden = Math.Round(C * t.MlpRatio, MidpointRounding.ToEven);
        int bg = layout.Begin(group.FirstScale), ed = layout.End(group.EndScale - 1);
        double rows = ed - bg;
        double embedded = group.FirstScale == 0 ? rows - layout.FirstL : rows;   // the first scale's input is the class token
        double keys;
        using (NewDisposeScope()) keys = AttendedKeys(pattern.ForTeacherForcing(group.FirstScale, group.EndScale), (int)rows);
        double perSample =
            embedded * 2 * Cv * C                                   // word_embed
            + (t.SharedAln ? 1 : depth) * 2 * C * 6 * C + 2 * C * 2 * C   // the blocks' ada_lin, head_nm's ada_lin
            + depth * rows * 2 * 4 * C * C                          // q, k, v, proj
            + depth * 4 * keys * C                                  // scores and weighted sum
            + depth * rows * 2 * 2 * C * hidden                     // ffn
            + rows * 2 * C * V;                                     // head
        return 3 * batch * perSample;
    }

    /// <summary>FLOPs of steps [0, <paramref name="steps"/>) whose groups <paramref name="groupAt"/> gives (each distinct group counted once and
    /// reused).</summary>
    public static double ForSteps(long steps, Func<long, ScaleGroup> groupAt, Func<ScaleGroup, double> perStep)
    {
        var memo = new Dictionary<ScaleGroup, double>();
        double total = 0;
        for (long g = 0; g < steps; g++)
        {
            var group = groupAt(g);
            if (!memo.TryGetValue(group, out double f)) memo[group] = f = perStep(group);
            total += f;
        }
        return total;
    }

    /// <summary>The sum over the call's <paramref name="rows"/> queries of the keys each attends to.</summary>
    static double AttendedKeys(AttentionSpec spec, int rows)
    {
        switch (spec)
        {
            case AttentionSpec.Dense { Bias_11LL: null }:
                return (double)rows * rows;
            case AttentionSpec.Dense { Bias_11LL: { } bias }:
                return bias.isfinite().sum().item<long>();
            case AttentionSpec.Neighborhood n:
                return (double)rows * Math.Min(n.KernelH, n.Height) * Math.Min(n.KernelW, n.Width);
            default:
                throw new ArgumentException($"{spec.GetType().Name} attention does not occur in a teacher-forced forward");
        }
    }
}
