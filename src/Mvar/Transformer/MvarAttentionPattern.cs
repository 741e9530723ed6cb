namespace Mvar.Transformer;

/// <summary>
/// MVAR: a token attends only to the tokens of its own scale (scale-Markov); at scales >= refine_step only to its
/// kernel x kernel spatial neighbourhood (spatial-Markov). No KV cache. Teacher forcing runs the small scales
/// [0, refine_step) as one sequence with a block-diagonal mask, and every larger scale alone.
/// </summary>
public sealed class MvarAttentionPattern : IAttentionPattern
{
    readonly ScaleLayout layout;
    readonly int kernelSize, refineStep;

    /// <param name="varMaskInSmallGroup">
    /// Reproduce the official fine-tuning from a VAR checkpoint (<c>train.py --finetune_from_var</c>), whose strict load
    /// copies VAR's block-causal <c>attn_bias_for_masking</c> into MVAR: the small-scale teacher-forced group then uses
    /// VAR's mask instead of MVAR's own. Inference is unaffected (it never uses the mask).
    /// </param>
    public MvarAttentionPattern(ScaleLayout layout, int kernelSize, int refineStep, bool varMaskInSmallGroup = false)
    {
        this.layout = layout; this.kernelSize = kernelSize; this.refineStep = refineStep;
        VarMaskInSmallGroup = varMaskInSmallGroup;
    }

    public bool VarMaskInSmallGroup { get; }
    public string Arch => "mvar";
    public bool UsesKvCache => false;
    public bool GuidesAtCfgOne => false;

    public AttentionSpec ForTeacherForcing(int firstScale, int endScale)
    {
        if (endScale - firstScale == 1) return ForInference(firstScale, null);
        if (endScale > refineStep)
            throw new ArgumentException($"MVAR runs scales >= refine_step ({refineStep}) one at a time, got scales [{firstScale}, {endScale})");
        if (VarMaskInSmallGroup && firstScale == 0)
            return new AttentionSpec.Dense(AttentionMasks.BlockCausal(layout, 0, endScale));
        return new AttentionSpec.Dense(AttentionMasks.WithinScale(layout, firstScale, endScale));
    }

    public AttentionSpec ForInference(int si, KvCache? cache)
    {
        if (si < refineStep) return new AttentionSpec.Dense();
        int pn = layout.Side(si);
        return new AttentionSpec.Neighborhood(pn, pn, kernelSize, kernelSize);
    }

    public TorchSharp.torch.Tensor FullMask() => AttentionMasks.WithinScale(layout, 0, layout.Count);
}
