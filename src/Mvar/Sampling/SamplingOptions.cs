namespace Mvar.Sampling;

/// <summary>How tokens are drawn. Defaults are the official demo settings (cfg 1.5, top-k 900, top-p 0.96).</summary>
public sealed record SamplingOptions
{
    /// <summary>Classifier-free guidance strength; ramped linearly over the scales: t = cfg * si / (K - 1).</summary>
    public double Cfg { get; init; } = 1.5;
    /// <summary>Keep the k largest logits (0: no top-k; 1: greedy).</summary>
    public int TopK { get; init; } = 900;
    /// <summary>Nucleus sampling threshold in [0, 1] (0: off).</summary>
    public double TopP { get; init; } = 0.96;
    /// <summary>Seed of the torch-compatible generator; null: a random seed (reported in the result).</summary>
    public ulong? Seed { get; init; }
    /// <summary>Feed the next scale a Gumbel-softmax mixture of codebook vectors instead of the drawn token (official more_smooth, visualisation only).</summary>
    public bool MoreSmooth { get; init; }

    /// <summary>Strongest guidance accepted (the CLI's --cfg and the server's "cfg" alike).</summary>
    public const double MaxCfg = 20;

    /// <summary>The top-k used when none is given: the official 900, or the whole vocabulary when it is smaller.</summary>
    public static int DefaultTopK(int vocabSize) => Math.Min(900, vocabSize);

    /// <summary>Checks cfg, top-k and top-p; with <paramref name="vocabSize"/> also that top-k is within [0, vocabulary].</summary>
    public void Validate(int? vocabSize = null)
    {
        if (!(Cfg >= 0 && Cfg <= MaxCfg)) throw new MvarException($"cfg must be within [0, {MaxCfg}], got {Cfg}");
        if (vocabSize is int v && TopK > v) throw new MvarException($"top-k must be within [0, {v}] (the vocabulary), got {TopK}");
        if (TopK < 0) throw new MvarException($"top-k must be >= 0, got {TopK}");
        if (!(TopP >= 0 && TopP <= 1)) throw new MvarException($"top-p must be within [0, 1], got {TopP}");
    }
}
