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
                || (Sche.StartsWith("lin") && double.TryParse(Sche[3..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double end) && end is >= 0 and <= 1),
            $"training.sche must be cos, lin, lin0, lin00, linT or exp, got \"{Sche}\"");
        Require(Wp >= 0 && Wp0 >= 0 && Wpe >= 0, "training.wp, wp0 and wpe must be >= 0");
        Require(Betas.Length == 2 && TokBetas.Length == 2, "training.betas and tok_betas must have two values");
        Require(Betas.Concat(TokBetas).All(b => b is >= 0 and < 1), $"training.betas and tok_betas must be in [0, 1), got [{string.Join(", ", Betas)}] and [{string.Join(", ", TokBetas)}]");
        Require(Wp <= 1e6 && Wp0 <= 1 && Wpe <= 1, "training.wp must be at most 1e6 epochs, wp0 and wpe at most 1");
        Require(DropPathRate is null or (>= 0 and < 1), $"training.drop_path_rate must be in [0, 1), got {DropPathRate}");
        Require(RatioK is >= 1 and <= 1024, $"training.ratio_k must be in [1, 1024], got {RatioK}");
        Require(RecLoss is "l1" or "mse", $"training.rec_loss must be \"l1\" or \"mse\", got \"{RecLoss}\"");
        Require(CodeReinitEvery >= 0, "training.code_reinit_every must be >= 0");
        Require(MidReso is >= 1 and <= 8, $"training.mid_reso must be in [1, 8], got {MidReso}");
        Require(SmallImages is "pad" or "resize", $"training.small_images must be \"pad\" or \"resize\", got \"{SmallImages}\"");
        Require(LogEvery >= 1 && SaveEvery >= 1, "training.log_every and save_every must be positive");
    }

    static void Require(bool ok, string message) => ConfigChecks.Require(ok, message);
}
