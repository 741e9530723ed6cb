namespace Mvar.Config;

/// <summary>The next-scale transformer (VAR's <c>VAR</c> / MVAR's <c>MVAR</c>). JSON keys are the snake_case names.</summary>
public sealed record TransformerConfig
{
    /// <summary>"var" (block-causal over all scales, KV cache) or "mvar" (scale- and spatial-Markov).</summary>
    public string Arch { get; init; } = "mvar";
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

    public bool IsMvar => Arch == "mvar";
    public int HeadDim => EmbedDim / NumHeads;
    public string ClassName(long id) => ClassNames != null && id >= 0 && id < ClassNames.Length ? ClassNames[id] : $"class {id}";

    public void Validate(TokenizerConfig tokenizer)
    {
        Require(Arch is "var" or "mvar", $"transformer.arch must be \"var\" or \"mvar\", got \"{Arch}\"");
        Require(Depth >= 1, $"transformer.depth must be positive, got {Depth}");
        Require(EmbedDim >= 1 && NumHeads >= 1, $"transformer.embed_dim and num_heads must be positive, got {EmbedDim} and {NumHeads}");
        Require(EmbedDim % NumHeads == 0, $"transformer.num_heads ({NumHeads}) must divide embed_dim ({EmbedDim})");
        Require(NumClasses >= 1, $"transformer.num_classes must be positive, got {NumClasses}");
        Require(MlpRatio > 0, $"transformer.mlp_ratio must be positive, got {MlpRatio}");
        Require(NormEps > 0, $"transformer.norm_eps must be positive, got {NormEps}");
        Require(KernelSize >= 1 && KernelSize % 2 == 1, $"transformer.kernel_size must be a positive odd number, got {KernelSize}");
        Require(ClassNames == null || ClassNames.Length == NumClasses,
            $"transformer.class_names has {ClassNames?.Length} names but num_classes is {NumClasses}");
        int k = tokenizer.PatchNums.Length;
        Require(RefineStep >= 1 && RefineStep <= k, $"transformer.refine_step must be in [1, {k}] (the number of scales), got {RefineStep}");
        if (IsMvar && RefineStep < k)
            Require(KernelSize <= tokenizer.PatchNums[RefineStep],
                $"transformer.kernel_size ({KernelSize}) must not exceed the side of the first refine scale ({tokenizer.PatchNums[RefineStep]})");
    }

    static void Require(bool ok, string message) { if (!ok) throw new ConfigException(message); }
}
