using Mvar.Config;

namespace Mvar.Training;

/// <summary>
/// What starts a transformer run beside <see cref="TrainingRunSettings"/>; a resumed run takes what it recorded
/// (<see cref="TransformerRunInfo"/>) for whatever is left null.
/// </summary>
public sealed record TransformerRunSettings : TrainingRunSettings
{
    /// <summary>Overrides the configuration's transformer.arch.</summary>
    public Architecture? Arch { get; init; }
    /// <summary>The tokenizer checkpoint (VQ-VAE state dict) that makes the token maps.</summary>
    public string? Vae { get; init; }
    /// <summary>The token-map cache file (computed once; default: <see cref="TransformerRunInfo.DefaultCacheFile"/> in the run folder).</summary>
    public string? Cache { get; init; }
    /// <summary>Initial transformer weights instead of random ones (e.g. a VAR checkpoint to train an MVAR); a new run only.</summary>
    public string? InitFrom { get; init; }
    /// <summary>Key path of the state dict inside <see cref="InitFrom"/>.</summary>
    public string? InitKey { get; init; }
    /// <summary>VAR's block-causal mask in MVAR's small-scale group, as the official strict load of a VAR checkpoint.</summary>
    public bool VarMaskInSmallGroup { get; init; }
}
