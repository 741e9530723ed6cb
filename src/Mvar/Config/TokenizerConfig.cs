namespace Mvar.Config;

/// <summary>The multi-scale residual VQ-VAE (VAR's <c>VQVAE</c>). JSON keys are the snake_case names.</summary>
public sealed record TokenizerConfig
{
    public int VocabSize { get; init; } = 4096;
    /// <summary>Cvae: channels of the latent feature map f.</summary>
    public int ZChannels { get; init; } = 32;
    public int Ch { get; init; } = 160;
    public int[] ChMult { get; init; } = [1, 1, 2, 2, 4];
    public int NumResBlocks { get; init; } = 2;
    public int InChannels { get; init; } = 3;
    public bool UsingSa { get; init; } = true;
    public bool UsingMidSa { get; init; } = true;
    public int QuantConvKs { get; init; } = 3;
    /// <summary>phi(h) = (1 - |quant_resi|) h + |quant_resi| conv(h).</summary>
    public double QuantResi { get; init; } = 0.5;
    /// <summary>Number of phi convs shared across scales (VAR: 4, "partially shared").</summary>
    public int ShareQuantResi { get; init; } = 4;
    public int[] PatchNums { get; init; } = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16];
    /// <summary>Commitment-loss weight (training only).</summary>
    public double Beta { get; init; } = 0.25;
    public double Dropout { get; init; } = 0.0;
    /// <summary>
    /// Mvar's extension (off in every official checkpoint): each scale's residual is divided by its running RMS before
    /// the codebook lookup and the chosen code multiplied by it, so one codebook serves the large coarse residuals and
    /// the small fine ones alike instead of splitting into per-scale subsets. The RMS values are the buffer
    /// <c>quantize.scale_rms_S</c>, learnt during tokenizer training.
    /// </summary>
    public bool ScaleNorm { get; init; }

    /// <summary>Spatial down-sampling factor of the encoder: 2^(len(ch_mult)-1).</summary>
    public int Downsample => 1 << (ChMult.Length - 1);
    /// <summary>The latent map is patch_nums[-1] square; the image is that times the down-sampling.</summary>
    public int ImageSize => PatchNums[^1] * Downsample;
    /// <summary>Total tokens over all scales (680 for 1,2,3,4,5,6,8,10,13,16).</summary>
    public int TokenCount => PatchNums.Sum(p => p * p);

    public const int MaxVocab = 1 << 20, MaxImageSize = 4096, MaxTokens = 1 << 16;

    public void Validate()
    {
        Require(VocabSize is >= 2 and <= MaxVocab, $"tokenizer.vocab_size must be in [2, {MaxVocab}], got {VocabSize}");
        Require(ZChannels is >= 1 and <= 4096, $"tokenizer.z_channels must be in [1, 4096], got {ZChannels}");
        Require(Ch is >= 32 and <= 1024 && Ch % 32 == 0, $"tokenizer.ch must be a multiple of 32 (GroupNorm uses 32 groups) in [32, 1024], got {Ch}");
        Require(ChMult.Length is >= 1 and <= 8 && ChMult.All(m => m is >= 1 and <= 16),
            $"tokenizer.ch_mult must be a list of 1 to 8 integers in [1, 16], got [{string.Join(",", ChMult.Take(10))}{(ChMult.Length > 10 ? ",..." : "")}]");
        Require(NumResBlocks is >= 1 and <= 16, $"tokenizer.num_res_blocks must be in [1, 16], got {NumResBlocks}");
        Require(InChannels is 1 or 3, $"tokenizer.in_channels must be 1 or 3, got {InChannels}");
        Require(QuantConvKs is >= 1 and <= 7 && QuantConvKs % 2 == 1, $"tokenizer.quant_conv_ks must be an odd size from 1 to 7, got {QuantConvKs}");
        Require(Math.Abs(QuantResi) <= 1, $"tokenizer.quant_resi must be within [-1, 1], got {QuantResi}");
        Require(ShareQuantResi is >= 0 and <= 64, $"tokenizer.share_quant_resi must be in [0, 64] (0: one phi per scale), got {ShareQuantResi}");
        Require(PatchNums.Length is >= 1 and <= 64 && PatchNums[0] >= 1,
            $"tokenizer.patch_nums must be a list of 1 to 64 positive integers, got {PatchNums.Length} entries");
        Require(PatchNums.Length == 0 || PatchNums[^1] <= 256,
            $"tokenizer.patch_nums must not exceed 256 (the last is the latent side), got {(PatchNums.Length > 0 ? PatchNums[^1] : 0)}");
        if (PatchNums.Length > 0 && ChMult.Length is >= 1 and <= 8)
            Require((long)PatchNums[^1] << (ChMult.Length - 1) <= MaxImageSize,
                $"the image size patch_nums[-1] * 2^(len(ch_mult)-1) must be at most {MaxImageSize}, got {(long)PatchNums[^1] << (ChMult.Length - 1)}");
        Require(PatchNums.Sum(p => (long)p * p) <= MaxTokens,
            $"tokenizer.patch_nums give {PatchNums.Sum(p => (long)p * p)} tokens over all scales, more than {MaxTokens}");
        for (int i = 1; i < PatchNums.Length; i++)
            Require(PatchNums[i] > PatchNums[i - 1], $"tokenizer.patch_nums must be strictly increasing, got [{string.Join(",", PatchNums)}]");
        Require(Beta is >= 0 and <= 1000, $"tokenizer.beta must be in [0, 1000], got {Beta}");
        Require(Dropout is >= 0 and < 1, $"tokenizer.dropout must be in [0, 1), got {Dropout}");
    }

    static void Require(bool ok, string message) => ConfigChecks.Require(ok, message);
}
