namespace Mvar.Config;

/// <summary>
/// Training hyper-parameters (the <c>"training"</c> section of a config). Names and defaults follow the official
/// VAR/MVAR <c>utils/arg_util.py</c> where one exists (tblr, twd, twde, tclip, ls, sche, wp, wp0, wpe, ratio_k).
/// </summary>
public sealed record TrainingConfig
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 16;
    /// <summary>Stop after this many steps in total (0: epochs * iterations per epoch).</summary>
    public long MaxSteps { get; init; } = 0;
    public int Seed { get; init; } = 0;

    // ---- transformer optimisation (official names)
    /// <summary>Base learning rate; the learning rate is tblr * batch_size / 256 (official tlr) unless <see cref="Lr"/> is set.</summary>
    public double Tblr { get; init; } = 1e-4;
    public double? Lr { get; init; }
    public double Twd { get; init; } = 0.05;
    /// <summary>Final weight decay (0: same as twd).</summary>
    public double Twde { get; init; } = 0;
    /// <summary>Gradient-norm clip (&lt;= 0: none).</summary>
    public double Tclip { get; init; } = 2.0;
    /// <summary>Label smoothing.</summary>
    public double Ls { get; init; } = 0.0;
    public double CondDropRate { get; init; } = 0.1;
    /// <summary>lr schedule after warm-up: lin0 (official default), lin, lin00, linT (e.g. lin0.2), cos, exp.</summary>
    public string Sche { get; init; } = "lin0";
    /// <summary>Warm-up length in epochs (0: epochs / 50, as the official code).</summary>
    public double Wp { get; init; } = 0;
    public double Wp0 { get; init; } = 0.005;
    public double Wpe { get; init; } = 0.01;
    public double[] Betas { get; init; } = [0.9, 0.95];
    /// <summary>Stochastic depth (null: the official 0.1 * depth / 24, linearly increasing over the blocks).</summary>
    public double? DropPathRate { get; init; }
    /// <summary>MVAR: small-scale group steps per cycle (official ratio_k).</summary>
    public int RatioK { get; init; } = 8;

    // ---- tokenizer optimisation
    public double TokLr { get; init; } = 2e-4;
    /// <summary>Epochs of tokenizer training (null: <see cref="Epochs"/>), so one config can hold both stages.</summary>
    public int? TokEpochs { get; init; }
    public double TokWd { get; init; } = 0.0;
    public double[] TokBetas { get; init; } = [0.5, 0.9];
    /// <summary>Reconstruction loss: "l1" or "mse".</summary>
    public string RecLoss { get; init; } = "l1";
    /// <summary>Re-initialise codes unused over this many steps from recent encoder outputs (0: never).</summary>
    public int CodeReinitEvery { get; init; } = 200;
    /// <summary>Weight of the L1 reconstruction term (null: 1 when rec_loss is "l1", else 0).</summary>
    public double? L1Weight { get; init; }
    /// <summary>Weight of the L2 (mean squared error) term (null: 1 when rec_loss is "mse", else 0). vaex: 0.2 L1 + 1.0 L2.</summary>
    public double? L2Weight { get; init; }
    /// <summary>
    /// The reconstruction error as the image is shown (clamped to [-1, 1]): an output past a bound where the target sits
    /// at that bound costs nothing, and the discriminator and LPIPS see the clamped output
    /// (<see cref="Training.ReconstructionError"/>). Off: the raw output, as the official trainers do.
    /// </summary>
    public bool RecBounded { get; init; } = false;
    /// <summary>
    /// Which part of the tokenizer trains: "all", or "decoder" (post_quant_conv and the decoder; the encoder, quant_conv
    /// and the quantizer with its codebook, phi and residual RMS stay as they are, so every image keeps its tokens and
    /// a transformer trained on them stays valid: a sharper decoder for the same token maps).
    /// </summary>
    public string TokTrain { get; init; } = "all";
    /// <summary>Exponential moving average of the tokenizer's weights, per step (0: none); model.pth then holds the average.</summary>
    public double EmaDecay { get; init; } = 0;

    // ---- adversarial tokenizer training (VQGAN: PatchGAN discriminator, hinge loss, adaptive weight)
    /// <summary>Weight of the generator's adversarial loss on top of VQGAN's adaptive weight (0: no discriminator).</summary>
    public double DiscWeight { get; init; } = 0;
    /// <summary>Step at which the discriminator starts (before it: reconstruction and VQ loss only).</summary>
    public long DiscStart { get; init; } = 0;
    /// <summary>Steps over which the adversarial weight ramps linearly from 0 to disc_weight after disc_start.</summary>
    public long DiscWarmup { get; init; } = 0;
    /// <summary>
    /// Steps before disc_start in which the discriminator already learns (at full weight) from the reconstructions
    /// while the tokenizer still trains on its reconstruction and VQ loss alone: the generator's adversarial term then
    /// starts against a discriminator that tells real from reconstructed, not against a random one (0: both start at
    /// disc_start). At most disc_start.
    /// </summary>
    public long DiscPretrain { get; init; } = 0;
    /// <summary>PatchGAN depth: stride-2 convolutions (taming's n_layers).</summary>
    public int DiscLayers { get; init; } = 3;
    /// <summary>Channels of the discriminator's first convolution (taming's ndf).</summary>
    public int DiscChannels { get; init; } = 64;
    /// <summary>Spectral normalisation of the discriminator's convolutions (then no batch norm).</summary>
    public bool DiscSpectralNorm { get; init; } = false;
    /// <summary>Discriminator learning rate (null: tok_lr); its AdamW uses tok_betas and the tokenizer's schedule.</summary>
    public double? DiscLr { get; init; }
    /// <summary>Differentiable augmentations of real and reconstructed images before the discriminator: a comma list of translation, cutout (""
    /// none).</summary>
    public string DiscAug { get; init; } = "translation,cutout";
    /// <summary>LeCam regularisation weight of the discriminator loss (0: none).</summary>
    public double LecamWeight { get; init; } = 0;
    /// <summary>Weight of the LPIPS perceptual loss (needs the VGG16 and LPIPS weight files; skipped below 48 px).</summary>
    public double LpipsWeight { get; init; } = 0;

    // ---- data
    public bool Hflip { get; init; } = false;
    public double MidReso { get; init; } = 1.125;
    /// <summary>Images smaller than the model (Fashion-MNIST's 28x28): "pad" (centre on black) or "resize".</summary>
    public string SmallImages { get; init; } = "pad";

    // ---- bookkeeping
    public int LogEvery { get; init; } = 20;
    public int SaveEvery { get; init; } = 500;

    public double LearningRate => Lr ?? Tblr * BatchSize / 256.0;
    public double FinalWd => Twde == 0 ? Twd : Twde;
    public double RecL1Weight => L1Weight ?? (RecLoss == "l1" ? 1 : 0);
    public double RecL2Weight => L2Weight ?? (RecLoss == "mse" ? 1 : 0);
    /// <summary>tok_train is "decoder": only post_quant_conv and the decoder train.</summary>
    public bool TrainsDecoderOnly => TokTrain == "decoder";
    /// <summary>The augmentations of disc_aug (a method: a derived array would be serialized with the config).</summary>
    public string[] DiscAugmentationList() => DiscAug.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public const int MaxBatchSize = 65536;

    public void Validate()
    {
        Require(Epochs is >= 1 and <= 1_000_000, $"training.epochs must be in [1, 1000000], got {Epochs}");
        Require(TokEpochs is null or (>= 1 and <= 1_000_000), $"training.tok_epochs must be in [1, 1000000], got {TokEpochs}");
        Require(BatchSize is >= 1 and <= MaxBatchSize, $"training.batch_size must be in [1, {MaxBatchSize}], got {BatchSize}");
        Require(MaxSteps >= 0, $"training.max_steps must be >= 0, got {MaxSteps}");
        Require(Tblr is > 0 and <= 10 && (Lr ?? 1) is > 0 and <= 10 && TokLr is > 0 and <= 10, "training learning rates (tblr, lr, tok_lr) must be in (0, 10]");
        Require(Twd is >= 0 and <= 10 && Twde is >= 0 and <= 10 && TokWd is >= 0 and <= 10, "training weight decays (twd, twde, tok_wd) must be in [0, 10]");
        Require(double.IsFinite(Tclip), $"training.tclip must be a finite number, got {Tclip}");
        Require(Ls is >= 0 and < 1, $"training.ls must be in [0, 1), got {Ls}");
        Require(CondDropRate is >= 0 and <= 1, $"training.cond_drop_rate must be in [0, 1], got {CondDropRate}");
        Require(Sche is "cos" or "lin" or "lin0" or "lin00" or "exp"
                || (Sche.StartsWith("lin", StringComparison.Ordinal) && double.TryParse(Sche[3..], System.Globalization.NumberStyles.Float,
                    System.Globalization.CultureInfo.InvariantCulture, out double end) && end is >= 0 and <= 1),
            $"training.sche must be cos, lin, lin0, lin00, linT or exp, got \"{Sche}\"");
        Require(Wp >= 0 && Wp0 >= 0 && Wpe >= 0, "training.wp, wp0 and wpe must be >= 0");
        Require(Betas.Length == 2 && TokBetas.Length == 2, "training.betas and tok_betas must have two values");
        Require(Betas.Concat(TokBetas).All(b => b is >= 0 and < 1),
            $"training.betas and tok_betas must be in [0, 1), got [{string.Join(", ", Betas)}] and [{string.Join(", ", TokBetas)}]");
        Require(Wp <= 1e6 && Wp0 <= 1 && Wpe <= 1, "training.wp must be at most 1e6 epochs, wp0 and wpe at most 1");
        Require(DropPathRate is null or (>= 0 and < 1), $"training.drop_path_rate must be in [0, 1), got {DropPathRate}");
        Require(RatioK is >= 1 and <= 1024, $"training.ratio_k must be in [1, 1024], got {RatioK}");
        Require(RecLoss is "l1" or "mse", $"training.rec_loss must be \"l1\" or \"mse\", got \"{RecLoss}\"");
        Require(CodeReinitEvery >= 0, "training.code_reinit_every must be >= 0");
        Require(L1Weight is null or >= 0 && L2Weight is null or >= 0 && RecL1Weight + RecL2Weight > 0,
            "training.l1_weight and l2_weight must be >= 0 and not both 0");
        Require(TokTrain is "all" or "decoder", $"training.tok_train must be \"all\" or \"decoder\", got \"{TokTrain}\"");
        Require(TokTrain != "decoder" || CodeReinitEvery == 0,
            "training.tok_train \"decoder\" keeps the codebook as it is: set training.code_reinit_every to 0");
        Require(EmaDecay is >= 0 and < 1, $"training.ema_decay must be in [0, 1), got {EmaDecay}");
        Require(DiscWeight >= 0 && double.IsFinite(DiscWeight), $"training.disc_weight must be >= 0, got {DiscWeight}");
        Require(DiscStart >= 0 && DiscWarmup >= 0, "training.disc_start and disc_warmup must be >= 0");
        Require(DiscPretrain >= 0 && DiscPretrain <= DiscStart, $"training.disc_pretrain must be in 0..disc_start ({DiscStart}), got {DiscPretrain}");
        Require(DiscLayers is >= 1 and <= 6, $"training.disc_layers must be in 1..6, got {DiscLayers}");
        Require(DiscChannels is >= 1 and <= 1024, $"training.disc_channels must be in 1..1024, got {DiscChannels}");
        Require((DiscLr ?? 1) > 0, $"training.disc_lr must be positive, got {DiscLr}");
        Require(LecamWeight >= 0 && LpipsWeight >= 0, "training.lecam_weight and lpips_weight must be >= 0");
        foreach (var a in DiscAugmentationList())
            Require(a is "translation" or "cutout", $"training.disc_aug: unknown augmentation \"{a}\" (translation, cutout)");
        Require(MidReso is >= 1 and <= 8, $"training.mid_reso must be in [1, 8], got {MidReso}");
        Require(SmallImages is "pad" or "resize", $"training.small_images must be \"pad\" or \"resize\", got \"{SmallImages}\"");
        Require(LogEvery >= 1 && SaveEvery >= 1, "training.log_every and save_every must be positive");
    }

    static void Require(bool ok, string message) => ConfigChecks.Require(ok, message);
}
