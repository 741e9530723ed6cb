using Mvar.Config;
using Mvar.IO;

namespace Mvar.Tokenizer;

/// <summary>Builds a <see cref="VqVae"/> and fills it from a checkpoint (official vae_*.pth state dicts load as is).</summary>
public static class VqVaeLoader
{
    const string EmaKey = "quantize.ema_vocab_hit_SV", ScaleRmsKey = "quantize.scale_rms_S";

    /// <summary>
    /// A tokenizer for <paramref name="config"/> with the weights of <paramref name="path"/>. Every missing,
    /// unexpected or mis-shaped key is reported in one <see cref="CheckpointException"/>. The training statistic
    /// <c>quantize.ema_vocab_hit_SV</c> is skipped when absent or sized for other scales (as the official loader does).
    /// </summary>
    public static VqVae Load(TokenizerConfig config, string path)
    {
        IO.FileKinds.RequireRegularFile(path, "tokenizer checkpoint", m => new CheckpointException(m));
        var sd = Checkpoint.LoadStateDict(path);   // .pth or .safetensors
        try
        {
            bool hasRms = sd.ContainsKey(ScaleRmsKey);
            if (hasRms && !config.ScaleNorm)
                throw new
                    CheckpointException($"{path} holds {ScaleRmsKey}: it is a tokenizer trained with tokenizer.scale_norm, which the configuration does "
                    + $"not set (add \"scale_norm\": true to its tokenizer section)");
            if (!hasRms && config.ScaleNorm)
                throw new
                    CheckpointException($"{path} has no {ScaleRmsKey}: it was not trained with tokenizer.scale_norm (no official tokenizer is), which the "
                    + $"configuration sets (remove \"scale_norm\" from its tokenizer section)");
            var vae = new VqVae(config);
            try
            {
                var own = vae.state_dict()[EmaKey];
                bool skipEma = !sd.TryGetValue(EmaKey, out var ema) || !ema.shape.SequenceEqual(own.shape);
                StateDictLoader.LoadInto(vae, sd, path, skipEma ? k => k == EmaKey : null);
                return vae;
            }
            catch { vae.Dispose(); throw; }
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }
}
