namespace Mvar.Config;

/// <summary>The next-scale transformer (VAR's <c>VAR</c> / MVAR's <c>MVAR</c>). JSON keys are the snake_case names.</summary>
public sealed record TransformerConfig
{
    /// <summary>VAR (block-causal over all scales, KV cache) or MVAR (scale- and spatial-Markov); "var" / "mvar" in JSON.</summary>
    public Architecture Arch { get; init; } = Architecture.Mvar;
    public int Depth { get; init; } = 16;
    public int EmbedDim { get; init; } = 1024;
    public int NumHeads { get; init; } = 16;
    public int NumClasses { get; init; } = 1000;
    public double MlpRatio { get; init; } = 4.0;
    public double NormEps { get; init; } = 1e-6;
    public bool AttnL2Norm { get; init; } = true;
    public bool SharedAln { get; init; } = false;
    /// <summary>MVAR: neighbourhood-attention kernel at scales >= refine_step.</summary>
    public int KernelSize { get; init; } = 7;
    /// <summary>MVAR: first scale index that trains alone and uses neighbourhood attention.</summary>
    public int RefineStep { get; init; } = 8;
    /// <summary>Optional names of the classes (labels of sample grids, the serving page); null: class ids.</summary>
    public string[]? ClassNames { get; init; }

    public int HeadDim => EmbedDim / NumHeads;
    public string ClassName(long id) => ClassNames != null && id >= 0 && id < ClassNames.Length ? ClassNames[id] : $"class {id}";

    /// <summary>Largest transformer accepted (the official VAR-d30 has 2e9 parameters).</summary>
    public const double MaxParameters = 16e9;

    /// <summary>Roughly the transformer's parameter count: blocks (attention, MLP, AdaLN) and the class/token embeddings and head.</summary>
    public double ParameterEstimate(TokenizerConfig tokenizer) =>
        (double)Depth * EmbedDim * EmbedDim * (10 + 2 * MlpRatio) + ((double)NumClasses + 2.0 * tokenizer.VocabSize + tokenizer.TokenCount) * EmbedDim;

    public void Validate(TokenizerConfig tokenizer)
    {
        Require(Enum.IsDefined(Arch), $"transformer.arch must be \"var\" or \"mvar\", got {(int)Arch}");
        Require(Depth is >= 1 and <= 128, $"transformer.depth must be in [1, 128], got {Depth}");
        Require(EmbedDim is >= 1 and <= 16384, $"transformer.embed_dim must be in [1, 16384], got {EmbedDim}");
        Require(NumHeads is >= 1 and <= 1024, $"transformer.num_heads must be in [1, 1024], got {NumHeads}");
        Require(NumHeads < 1 || EmbedDim % NumHeads == 0, $"transformer.num_heads ({NumHeads}) must divide embed_dim ({EmbedDim})");
        Require(NumClasses is >= 1 and <= 1 << 20, $"transformer.num_classes must be in [1, {1 << 20}], got {NumClasses}");
        Require(MlpRatio is >= 0.25 and <= 16, $"transformer.mlp_ratio must be in [0.25, 16], got {MlpRatio}");
        Require(NormEps is > 0 and < 1, $"transformer.norm_eps must be in (0, 1), got {NormEps}");
        Require(KernelSize is >= 1 and <= 63 && KernelSize % 2 == 1, $"transformer.kernel_size must be an odd number in [1, 63], got {KernelSize}");
        double parameters = ParameterEstimate(tokenizer);
        Require(parameters <= MaxParameters,
            $"the transformer would have about {parameters:g3} parameters (depth x embed_dim^2 x (10 + 2 mlp_ratio) + embeddings), more than "
            + $"{MaxParameters:g3}");
        Require(ClassNames == null || ClassNames.Length == NumClasses,
            $"transformer.class_names has {ClassNames?.Length} names but num_classes is {NumClasses}");
        int k = tokenizer.PatchNums.Length;
        Require(RefineStep >= 1 && RefineStep <= k, $"transformer.refine_step must be in [1, {k}] (the number of scales), got {RefineStep}");
        // MVAR's neighbourhood
        if (RefineStep >= 1 && RefineStep < k && Enum.IsDefined(Arch)
            && global::Mvar.Transformer.AttentionPatterns.For(this, new global::Mvar.Tokens.ScaleLayout(tokenizer.PatchNums)).Window is { } window)
            Require(window.KernelSize <= tokenizer.PatchNums[window.FromScale],
                $"transformer.kernel_size ({KernelSize}) must not exceed the side of the first refine scale ({tokenizer.PatchNums[RefineStep]})");
    }

    static void Require(bool ok, string message) => ConfigChecks.Require(ok, message);
}
