using Mvar.Config;
using Mvar.IO;
using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Tokens;
using Mvar.Training.Distributed;
using Mvar.Transformer;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Training;

/// <summary>
/// Teacher-forced training of a VAR or MVAR transformer on cached token maps, as the official trainers do:
/// VAR: every step all scales with the block-causal mask; MVAR: the <see cref="MvarSchedule"/> group of the step
/// (small scales together with the within-scale mask, or one large scale with neighbourhood attention).
/// Loss: cross-entropy with label smoothing weighted 1/L per token, summed over the group's tokens and averaged
/// over the batch; class dropout (cond_drop_rate), stochastic depth, AdamW (betas 0.9/0.95, no decay on 1-D
/// tensors, biases and the official nowd keys), warm-up + decay of the lr, cosine weight decay, gradient clipping.
/// Over several ranks the class-dropout and stochastic-depth draws are made for the global batch on every rank and
/// sliced (see <see cref="Trainer"/>); the gradients are averaged before clipping.
/// </summary>
public sealed class TransformerTrainer : Trainer
{
    readonly ScaleTransformer model;
    readonly VectorQuantizer2 quant;
    readonly ITokenData data;
    readonly AdamW opt;
    readonly List<Parameter> parameters;
    readonly bool firstGroupDecays;
    readonly string[] metricNames;

    public ScaleTransformer Transformer => model;
    protected override nn.Module Model => model;
    protected override OptimizerHelper Optimizer => opt;
    public override string Kind => "transformer";
    public override IReadOnlyList<string> MetricNames => metricNames;
    ScaleLayout Layout => model.Layout;

    /// <summary>Metrics of the transformer: the mean token cross-entropy and accuracy (%) over all scales trained in the step.</summary>
    public const string MeanLoss = "Lm", MeanAccuracy = "Accm";
    /// <summary>The cross-entropy of scale <paramref name="si"/> (logged when the step trains it).</summary>
    public static string ScaleLoss(int si) => $"L_s{si}";
    /// <summary>The token accuracy (%) of scale <paramref name="si"/>.</summary>
    public static string ScaleAccuracy(int si) => $"acc_s{si}";

    public TransformerTrainer(ModelConfig config, ScaleTransformer model, VectorQuantizer2 quant, ITokenData data, ICommunicator? comm = null)
        : base(config, data.Count, comm: comm)
    {
        this.model = model; this.quant = quant; this.data = data;
        if (data.L != model.Layout.L) throw new MvarException($"the token maps have {data.L} tokens per image, the model expects {model.Layout.L}");
        model.SetDropPath(T.DropPathRate ?? ScaleTransformer.DefaultDropPathRate(model.Depth), Gen,
            Comm.Size > 1 ? Order.BatchSize : 0, LocalBatchOffset);
        (opt, parameters) = BuildAdamW(model, T.LearningRate, T.Betas, officialNoWd: true);
        firstGroupDecays = ParamGroups.Split(model).decay.Count > 0;
        var names = new List<string> { Loss, MeanLoss, MeanAccuracy, LearningRate, "wd", GradNorm, "first_scale", "end_scale" };
        for (int si = 0; si < Layout.Count; si++) { names.Add(ScaleLoss(si)); names.Add(ScaleAccuracy(si)); }
        metricNames = names.ToArray();
        var never = model.Pattern.NeverTrained(T.RatioK);
        if (never.Count > 0) NeverTrainedWarning =
            $"with ratio_k {T.RatioK} the official MVAR schedule never trains scale(s) {string.Join(", ", never)} (K - refine_step > ratio_k); raise "
            + $"ratio_k or use ratio_k 1";
    }

    /// <summary>Set when the official MVAR schedule skips some scales for these settings.</summary>
    public string? NeverTrainedWarning { get; }

    public override double? AnalyticFlops(long steps) => TrainingFlops.ForSteps(steps, GroupAt,
        g => TrainingFlops.PerStep(model.Config, Config.Tokenizer, model.Pattern, g, Order.BatchSize));

    /// <summary>The scale group trained at global step <paramref name="step"/>.</summary>
    public ScaleGroup GroupAt(long step) => model.Pattern.TrainingGroup(step, T.RatioK);

    /// <summary>The teacher-forcing input of a group (null when the group is scale 0 alone).</summary>
    public Tensor? GroupInput(Tensor gt_BL, ScaleGroup g)
    {
        if (g.FirstScale == 0 && g.EndScale == 1) return null;
        int first = Layout.FirstL, bg = Layout.Begin(g.FirstScale), ed = Layout.End(g.EndScale - 1);
        var full = quant.IdxBlToVarInput(TokenMaps.Split(gt_BL, Layout))!;
        return full.slice(1, Math.Max(0, bg - first), ed - first, 1);
    }

    /// <summary>The training objective of a group (official: CE with label smoothing, weight 1/L, sum, batch mean) and the logits.</summary>
    public (Tensor loss, Tensor logits) Objective(Tensor label_B, Tensor gt_BL, ScaleGroup g)
    {
        int bg = Layout.Begin(g.FirstScale), ed = Layout.End(g.EndScale - 1);
        var x = GroupInput(gt_BL, g);
        var logits = model.Forward(label_B, x, g.FirstScale, g.EndScale);
        long B = logits.shape[0], V = logits.shape[2];
        var gt = gt_BL.slice(1, bg, ed, 1);
        var ce = F.cross_entropy(logits.reshape(-1, V), gt.reshape(-1), reduction: nn.Reduction.None, label_smoothing: T.Ls).view(B, -1);
        var loss = ce.mul(1.0 / Layout.L).sum(-1).mean();
        return (loss, logits);
    }

    /// <summary>
    /// One sample of each of the first (at most 10) classes from the current weights, with a fixed seed and the
    /// default sampling settings, as one PNG: the same draws every epoch, so the grids show what training changed.
    /// Sampling uses its own generators, so the training's random stream (and an exact resume) is untouched.
    /// </summary>
    public void SaveSamples(VqVae vae, string path, ulong seed = 0)
    {
        using var scope = NewDisposeScope();
        int n = Math.Min(model.NumClasses, 10);
        var sampler = new ScaleSampler(model, vae);
        var options = new SamplingOptions { Seed = seed, TopK = SamplingOptions.DefaultTopK(model.VocabSize) };
        using var result = sampler.Sample(Enumerable.Range(0, n).Select(c => (long)c).ToList(), n, options);
        Tensor images;
        using (no_grad()) images = vae.FhatToImg(result.FHat);
        ImageFiles.SaveGrid(ImageFiles.Unbatch(images), path, columns: n);
    }

    public override Dictionary<string, double> Step()
    {
        using var scope = NewDisposeScope();
        long g = NextStep;
        var (gt_BL, label_B) = data.Load(LocalBatchIndices(g));
        ReseedForStep(g);
        var group = GroupAt(g);
        long B = label_B.shape[0];
        if (T.CondDropRate > 0)
        {
            var drop = LocalRows(rand(new long[] { Order.BatchSize }, generator: Gen)).lt(T.CondDropRate);
            label_B = where(drop, full_like(label_B, model.NumClasses), label_B);
        }
        var (lr, wd) = LrSchedule.At(T, g, TotalSteps, Order.ItersPerEpoch);
        SetLrWd(lr, wd, firstGroupDecays);

        model.train();
        var (loss, logits) = Objective(label_B, gt_BL, group);
        var (lossValue, _) = GlobalMean(loss.item<float>(), (int)B);
        if (!double.IsFinite(lossValue)) { model.eval(); throw new NonFiniteLossException(g, lossValue); }
        ClearGrads();
        loss.backward();
        Grads.Average();
        double gradNorm = T.Tclip > 0
            ? nn.utils.clip_grad_norm_(parameters, T.Tclip)
            : nn.utils.clip_grad_norm_(parameters, double.MaxValue);
        opt.step();
        ClearGrads();
        model.eval();
        NextStep++;

        var m = new Dictionary<string, double>
        {
            [Loss] = lossValue, [LearningRate] = lr, ["wd"] = wd, [GradNorm] = gradNorm,
            ["first_scale"] = group.FirstScale, ["end_scale"] = group.EndScale,
        };
        using (no_grad())
        {
            int bg = Layout.Begin(group.FirstScale);
            var gt = gt_BL.slice(1, bg, Layout.End(group.EndScale - 1), 1);
            var V = logits.shape[2];
            var d = logits.detach();
            m[MeanLoss] = F.cross_entropy(d.reshape(-1, V), gt.reshape(-1)).item<float>();
            m[MeanAccuracy] = d.argmax(-1).eq(gt).to_type(ScalarType.Float32).mean().item<float>() * 100;
            for (int si = group.FirstScale; si < group.EndScale; si++)
            {
                long a = Layout.Begin(si) - bg, b = Layout.End(si) - bg;
                var ds = d.slice(1, a, b, 1); var gs = gt.slice(1, a, b, 1);
                m[ScaleLoss(si)] = F.cross_entropy(ds.reshape(-1, V), gs.reshape(-1)).item<float>();
                m[ScaleAccuracy(si)] = ds.argmax(-1).eq(gs).to_type(ScalarType.Float32).mean().item<float>() * 100;
            }
        }
        return ReduceMetrics(m, (int)B);
    }
}
