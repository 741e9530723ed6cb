using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Analysis;

/// <summary>
/// Runs a model's teacher-forced forward on token maps with the attention probe on, and feeds an
/// <see cref="AttentionStatistics"/>. VAR: one block-causal forward over the whole sequence. MVAR: every scale alone
/// (the same as the official grouped forward, whose small-scale group has a block-diagonal mask): dense within-scale
/// attention below refine_step, and at the neighbourhood scales the unwindowed within-scale softmax of the same q, k
/// (how much of it a kernel_size x kernel_size window keeps).
/// </summary>
public static class AttentionAnalyzer
{
    /// <param name="tokens">per scale (B, pn*pn) token ids</param>
    /// <param name="labels_B">class ids per image (num_classes = the unconditional row)</param>
    public static void Accumulate(AttentionStatistics stats, ScaleTransformer model, VqVae vae, IReadOnlyList<Tensor> tokens, Tensor labels_B)
    {
        var layout = model.Layout;
        if (tokens.Count != layout.Count) throw new MvarException($"{tokens.Count} token maps for a model of {layout.Count} scales");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var x = vae.Quantize.IdxBlToVarInput(tokens);   // (B, L - first_l, Cvae) or null
        foreach (var (first, end) in model.Pattern.ProbeForwards())
        {
            using var step = NewDisposeScope();
            Tensor? xi = end == 1 || x is null ? null
                : first == 0 ? x.narrow(1, 0, layout.End(end - 1) - layout.FirstL)
                : x.narrow(1, layout.Begin(first) - layout.FirstL, layout.End(end - 1) - layout.Begin(first));
            model.Forward(labels_B, xi, first, end, probe: p => stats.Add(p.Block, first, p.Probs_BHqk, p.Unwindowed));
        }
        stats.AddImages((int)labels_B.shape[0]);
    }

    /// <summary>Where the curves start: MVAR's neighbourhood scales (refine_step on), VAR's scales with a predecessor (1 on).</summary>
    public static int CurveFromScale(ScaleTransformer model) => model.Pattern.ProbeCurveFromScale;

    public static AttentionReport Report(AttentionStatistics stats, ScaleTransformer model) => stats.Report(model.Pattern);
}
