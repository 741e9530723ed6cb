namespace Mvar.Transformer;

/// <summary>VAR: block-causal attention over the whole token pyramid; a KV cache at inference.</summary>
public sealed class VarAttentionPattern(ScaleLayout layout) : IAttentionPattern
{
    public string Arch => "var";
    public bool UsesKvCache => true;
    public bool GuidesAtCfgOne => true;

    public AttentionSpec ForTeacherForcing(int firstScale, int endScale)
    {
        if (firstScale != 0) throw new ArgumentException("a VAR forward always starts at the first scale");
        return new AttentionSpec.Dense(AttentionMasks.BlockCausal(layout, 0, endScale));
    }

    public AttentionSpec ForInference(int si, KvCache? cache) =>
        new AttentionSpec.Cached(cache ?? throw new ArgumentException("VAR inference needs a KV cache"));

    public TorchSharp.torch.Tensor FullMask() => AttentionMasks.BlockCausal(layout, 0, layout.Count);
}
