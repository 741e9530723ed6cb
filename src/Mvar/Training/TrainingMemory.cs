using Mvar.Config;

namespace Mvar.Training;

/// <summary>
/// A rough upper estimate of the memory one training step takes on one rank (weights, gradients and AdamW's two
/// moments; the activations kept for the backward pass of the largest step), so that a batch size the machine cannot
/// hold fails before the data is read, with the numbers, instead of at the allocator minutes later.
/// </summary>
public static class TrainingMemory
{
    /// <summary>Transformer: the per-block activations of the step with the most (token x key) pairs, the logits of all tokens.</summary>
    public static double Transformer(ModelConfig config, int localBatch)
    {
        var t = config.Transformer ?? throw new MvarException("the configuration has no transformer section");
        var tok = config.Tokenizer;
        double B = localBatch, C = t.EmbedDim, L = tok.TokenCount;
        double state = 16 * t.ParameterEstimate(tok);           // fp32 weights, gradients, exp_avg, exp_avg_sq
        // Mvar runs the attention of every step densely over the step's tokens (masked); VAR's steps hold all L tokens,
        // MVAR's at most all of them too (its largest group is smaller): L x L scores bound both
        double perToken = C * (10 + 3 * t.MlpRatio) + 3.0 * t.NumHeads * L;
        double activations = t.Depth * B * L * perToken * 4;
        double logits = B * L * tok.VocabSize * 4 * 3;           // logits, log-softmax, their gradient
        return state + activations + logits;
    }

    /// <summary>Tokenizer: the encoder's and decoder's feature maps (and the discriminator's, when trained) for the batch.</summary>
    public static double Tokenizer(ModelConfig config, int localBatch)
    {
        var tok = config.Tokenizer;
        double B = localBatch, S2 = (double)tok.ImageSize * tok.ImageSize;
        double features = 0;   // channels x pixels over the resolution levels (each level a quarter of the previous)
        for (int i = 0; i < tok.ChMult.Length; i++) features += (double)tok.Ch * tok.ChMult[i] * S2 / Math.Pow(4, i);
        // each level: num_res_blocks blocks of ~6 saved tensors (norm, activation, conv), in the encoder and the decoder
        double activations = B * features * 4 * 2 * (6.0 * tok.NumResBlocks + 4);
        double weights = 60.0 * tok.Ch * tok.Ch * tok.ChMult.Max() * tok.ChMult.Max() * tok.NumResBlocks;
        double disc = (config.Training?.DiscWeight ?? 0) > 0 ? B * S2 * (config.Training!.DiscChannels) * 4 * 6 : 0;
        return 16 * weights + activations * 1.5 + disc;   // x1.5: the adversarial step's second decoder pass and augmentations
    }

    /// <summary>Checks one rank's share of a step against the machine's available memory.</summary>
    public static void Require(double bytes, string kind, int localBatch) =>
        MemoryBudget.Require(bytes, $"a {kind} training step of {localBatch} samples per process (training.batch_size)");
}
