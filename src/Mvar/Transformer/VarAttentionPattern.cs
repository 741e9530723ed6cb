using Mvar.Config;
using Mvar.Tokens;
using Mvar.Training;

namespace Mvar.Transformer;

/// <summary>VAR: block-causal attention over the whole token pyramid; a KV cache at inference; every training step trains all scales.</summary>
public sealed class VarAttentionPattern(ScaleLayout layout) : IAttentionPattern
{
    public Architecture Arch => Architecture.Var;
    public bool UsesKvCache => true;
    public bool Guides(double cfg) => true;

    public AttentionSpec ForTeacherForcing(int firstScale, int endScale)
    {
        if (firstScale != 0) throw new ArgumentException("a VAR forward always starts at the first scale");
        return new AttentionSpec.Dense(AttentionMasks.BlockCausal(layout, 0, endScale));
    }

    public AttentionSpec ForInference(int si, KvCache? cache) =>
        new AttentionSpec.Cached(cache ?? throw new ArgumentException("VAR inference needs a KV cache"));

    public TorchSharp.torch.Tensor FullMask() => AttentionMasks.BlockCausal(layout, 0, layout.Count);

    /// <summary>All tokens of this and every earlier scale (the KV cache).</summary>
    public double KeysPerQuery(int si) => layout.End(si);

    public int TrainingCycle(int ratioK) => 1;
    public ScaleGroup TrainingGroup(long step, int ratioK) => MvarSchedule.Var(layout.Count);
    public IReadOnlyList<int> NeverTrained(int ratioK) => [];

    public IReadOnlyList<(int First, int End)> ProbeForwards() => [(0, layout.Count)];
    public bool AttendsEarlierScales => true;
    public int ProbeCurveFromScale => 1;
    public (int KernelSize, int FromScale)? Window => null;
}
