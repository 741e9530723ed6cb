using Mvar.Config;
using Mvar.Tokens;
using Mvar.Training;

namespace Mvar.Transformer;

/// <summary>
/// The one place where VAR and MVAR differ, and the only one that answers architecture questions: which tokens each
/// token attends to (teacher-forced forwards, inference, the keys a query sees for FLOPs and analysis), whether
/// inference keeps a KV cache, whether sampling guides at a cfg, which scales a training step trains under ratio_k,
/// and how attention analysis probes it. Everything else (embeddings, blocks, head, sampler, trainer) is shared and
/// asks the pattern. Made by <see cref="AttentionPatterns"/>.
/// </summary>
public interface IAttentionPattern
{
    Architecture Arch { get; }
    /// <summary>VAR keeps the keys/values of all earlier scales at inference; MVAR attends within the current scale only.</summary>
    bool UsesKvCache { get; }
    /// <summary>
    /// Whether sampling at guidance scale <paramref name="cfg"/> runs the (cond, uncond) batch. As in the official
    /// code, VAR always does (even at cfg 1.0, where the guided logits equal the conditional ones); MVAR skips guidance
    /// at cfg == 1.0.
    /// </summary>
    bool Guides(double cfg);
    /// <summary>The attention of a teacher-forced forward over the consecutive scales [firstScale, endScale).</summary>
    AttentionSpec ForTeacherForcing(int firstScale, int endScale);
    /// <summary>The attention at inference step <paramref name="si"/>; <paramref name="cache"/> is non-null iff <see cref="UsesKvCache"/>.</summary>
    AttentionSpec ForInference(int si, KvCache? cache);
    /// <summary>The full-sequence mask this architecture would store in its <c>attn_bias_for_masking</c> buffer.</summary>
    TorchSharp.torch.Tensor FullMask();
    /// <summary>Keys a query of scale <paramref name="si"/> attends to at inference (FLOPs, benchmarks, analysis).</summary>
    double KeysPerQuery(int si);

    /// <summary>Steps of one cycle of the training schedule under <paramref name="ratioK"/> (VAR: 1, every step trains all scales).</summary>
    int TrainingCycle(int ratioK);
    /// <summary>The scales the training step <paramref name="step"/> (global, from 0) trains under <paramref name="ratioK"/>.</summary>
    ScaleGroup TrainingGroup(long step, int ratioK);
    /// <summary>The scales the training schedule never trains under <paramref name="ratioK"/> (empty when all are trained).</summary>
    IReadOnlyList<int> NeverTrained(int ratioK);

    /// <summary>
    /// The teacher-forced forwards, [First, End) scales each, in which attention analysis records the probabilities
    /// (VAR: one over the whole sequence; MVAR: every scale alone, which equals its grouped forward).
    /// </summary>
    IReadOnlyList<(int First, int End)> ProbeForwards();
    /// <summary>Whether a query attends to earlier scales (the adjacent-scale numbers of the analysis apply).</summary>
    bool AttendsEarlierScales { get; }
    /// <summary>The first query scale of the analysis' window curves (VAR: 1, the first with a predecessor; MVAR: the first neighbourhood scale).</summary>
    int ProbeCurveFromScale { get; }
    /// <summary>The neighbourhood kernel and the first scale that uses it, when the pattern windows attention (MVAR); null for VAR.</summary>
    (int KernelSize, int FromScale)? Window { get; }
}

/// <summary>The factory of the patterns: the one place that maps an <see cref="Architecture"/> to its pattern.</summary>
public static class AttentionPatterns
{
    /// <param name="varMaskInSmallGroup">MVAR only: see <see cref="MvarAttentionPattern"/>; ignored for VAR, which has that mask anyway.</param>
    public static IAttentionPattern For(TransformerConfig config, ScaleLayout layout, bool varMaskInSmallGroup = false) => config.Arch switch
    {
        Architecture.Var => new VarAttentionPattern(layout),
        Architecture.Mvar => new MvarAttentionPattern(layout, config.KernelSize, config.RefineStep, varMaskInSmallGroup),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config.Arch, "not an architecture"),
    };

    /// <summary>The pattern of a model configuration's transformer.</summary>
    public static IAttentionPattern For(TransformerConfig config, TokenizerConfig tokenizer) => For(config, new ScaleLayout(tokenizer.PatchNums));
}
