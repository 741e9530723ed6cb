using Mvar.Config;
using Mvar.Tokens;
using Mvar.Training;

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
    public Architecture Arch => Architecture.Mvar;
    public bool UsesKvCache => false;
    public bool Guides(double cfg) => cfg != 1.0;

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

    /// <summary>This scale's tokens below refine_step; kernel x kernel neighbours (at most the map) from refine_step on.</summary>
    public double KeysPerQuery(int si)
    {
        int side = layout.Side(si);
        return si < refineStep ? (double)side * side : (double)Math.Min(kernelSize, side) * Math.Min(kernelSize, side);
    }

    /// <summary>The official ratio_k cycle: ratio_k steps of the small-scale group, then one step per large scale.</summary>
    public int TrainingCycle(int ratioK) => ratioK + layout.Count - refineStep;
    public ScaleGroup TrainingGroup(long step, int ratioK) => MvarSchedule.At(step, layout.Count, refineStep, ratioK);
    public IReadOnlyList<int> NeverTrained(int ratioK) => MvarSchedule.NeverTrained(layout.Count, refineStep, ratioK);

    public IReadOnlyList<(int First, int End)> ProbeForwards() => Enumerable.Range(0, layout.Count).Select(si => (First: si, End: si + 1)).ToList();
    public bool AttendsEarlierScales => false;
    public int ProbeCurveFromScale => Math.Min(refineStep, layout.Count - 1);
    public (int KernelSize, int FromScale)? Window => (kernelSize, refineStep);
}
