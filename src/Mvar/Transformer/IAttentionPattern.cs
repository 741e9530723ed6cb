namespace Mvar.Transformer;

/// <summary>
/// The one place where VAR and MVAR differ: which tokens each token attends to, in teacher-forced forwards and at
/// inference, and whether inference keeps a KV cache. Everything else (embeddings, blocks, head) is shared.
/// </summary>
public interface IAttentionPattern
{
    /// <summary>"var" or "mvar".</summary>
    string Arch { get; }
    /// <summary>VAR keeps the keys/values of all earlier scales at inference; MVAR attends within the current scale only.</summary>
    bool UsesKvCache { get; }
    /// <summary>VAR runs the (cond, uncond) batch even at cfg 1.0; MVAR skips guidance entirely at cfg == 1.0.</summary>
    bool GuidesAtCfgOne { get; }
    /// <summary>The attention of a teacher-forced forward over the consecutive scales [firstScale, endScale).</summary>
    AttentionSpec ForTeacherForcing(int firstScale, int endScale);
    /// <summary>The attention at inference step <paramref name="si"/>; <paramref name="cache"/> is non-null iff <see cref="UsesKvCache"/>.</summary>
    AttentionSpec ForInference(int si, KvCache? cache);
    /// <summary>The full-sequence mask this architecture would store in its <c>attn_bias_for_masking</c> buffer.</summary>
    TorchSharp.torch.Tensor FullMask();
}
