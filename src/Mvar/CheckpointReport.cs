using static TorchSharp.torch;

namespace Mvar;

/// <summary>What a state dict holds: parameter and buffer counts, and which built-in presets it fits exactly.</summary>
public sealed record CheckpointReport(long Parameters, long Buffers, IReadOnlyList<string> MatchingPresets)
{
    /// <summary>State-dict entries that are buffers, not learnt parameters (the official models' and Mvar's scale_rms_S).</summary>
    static readonly string[] BufferNames = ["lvl_1L", "attn_bias_for_masking", "zero_k_bias", "ema_vocab_hit_SV", "scale_rms_S"];

    public static bool IsBuffer(string key) => BufferNames.Any(b => key == b || key.EndsWith("." + b, StringComparison.Ordinal));

    public static CheckpointReport Of(IReadOnlyDictionary<string, Tensor> sd)
    {
        long parameters = sd.Where(kv => !IsBuffer(kv.Key)).Sum(kv => kv.Value.numel());
        long buffers = sd.Where(kv => IsBuffer(kv.Key)).Sum(kv => kv.Value.numel());
        return new CheckpointReport(parameters, buffers, PresetMatcher.Matching(sd));
    }
}
