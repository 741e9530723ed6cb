using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Training.Adversarial;
using Mvar.Training.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// Trains the multi-scale VQ-VAE: reconstruction loss (l1_weight L1 + l2_weight L2) + the quantizer's VQ loss
/// (commitment with beta, codebook, straight-through estimator), AdamW with the warm-up/decay schedule. Code usage is
/// counted per scale; every code_reinit_every steps the codes no scale used since the last check are re-initialised
/// from the encoder outputs of the current batch. Over several ranks the code counts are summed over the ranks and the
/// replacement vectors are drawn from the whole global batch's encoder outputs (gathered in rank order), as in one
/// process.
/// With disc_weight &gt; 0 it trains as VQGAN does: from disc_start on (ramped over disc_warmup steps) a PatchGAN
/// discriminator sees real and reconstructed images (both through <see cref="DiffAugment"/>) and learns with the hinge
/// loss (+ LeCam), its own AdamW and the tokenizer's schedule; the tokenizer adds -mean D(fake) weighted by VQGAN's
/// adaptive weight (the ratio of the two losses' gradient norms at the decoder's last weight) times disc_weight. With
/// disc_pretrain &gt; 0 the discriminator starts learning that many steps before the tokenizer sees its loss. An
/// optional LPIPS term (lpips_weight, weights given by the user) joins the reconstruction loss. With ema_decay &gt; 0
/// an exponential moving average of the weights is kept and is what <c>model.pth</c> and the reconstruction grids use.
/// The discriminator, its optimizer, the average and LeCam's averages are part of the checkpoint.
/// </summary>
public sealed class TokenizerTrainer : Trainer
{
    /// <summary>Decay of LeCam's moving averages of the discriminator's outputs (the paper's 0.99).</summary>
    public const double LeCamDecay = 0.99;

    readonly VqVae vae;
    readonly ImageBatches batches;
    readonly AdamW opt;
    readonly List<Parameter> parameters;
    readonly Tensor hits_SV;   // code hits per scale since the last re-initialisation check
    readonly string[] metricNames;
    readonly PatchDiscriminator? disc;
    readonly AdamW? discOpt;
    readonly List<Parameter> discParameters = new();
    readonly DiffAugment augment;
    readonly VqVae? emaVae;
    readonly WeightEma? ema;
    readonly Lpips? lpips;
    GradientAverager? discGrads;
    double lecamReal, lecamFake;

    public VqVae Vae => vae;
    /// <summary>The weights a run exports: the moving average when ema_decay &gt; 0, else the trained weights.</summary>
    public VqVae ExportedVae => emaVae ?? vae;
    public PatchDiscriminator? Discriminator => disc;
    protected override nn.Module Model => vae;
    protected override OptimizerHelper Optimizer => opt;
    public override string Kind => "tokenizer";
    public override IReadOnlyList<string> MetricNames => metricNames;
    /// <summary>Codes re-initialised so far.</summary>
    public long ReinitCount { get; private set; }

    /// <summary>
    /// Metrics of the tokenizer: the reconstruction and VQ losses, the LPIPS term, the adversarial terms (VQGAN's
    /// discriminator and generator losses and adaptive weight) and the codebook usage (%) over all scales.
    /// </summary>
    public const string Reconstruction = "rec", Vq = "vq", Perceptual = "lpips", DiscLoss = "d_loss", GenLoss = "g_loss", Lambda = "lambda",
        UsageAll = "usage_all";
    /// <summary>The codebook usage (%) of scale <paramref name="si"/>.</summary>
    public static string Usage(int si) => $"usage_s{si}";

    /// <param name="lpips">the perceptual network when training.lpips_weight &gt; 0 (required then, for images of at least 48 px)</param>
    public TokenizerTrainer(ModelConfig config, VqVae vae, ImageBatches batches, ICommunicator? comm = null, Lpips? lpips = null)
        : base(config, batches.Data.Count, tokenizer: true, comm)
    {
        this.vae = vae; this.batches = batches;
        vae.EnableTraining(decoderOnly: T.TrainsDecoderOnly);
        (opt, parameters) = BuildAdamW(vae, T.TokLr, T.TokBetas, officialNoWd: false);
        hits_SV = zeros(vae.PatchNums.Length, vae.Config.VocabSize, dtype: ScalarType.Int64).DetachFromDisposeScope();
        var names = new List<string> { Loss, Reconstruction, Vq, LearningRate, GradNorm, "reinit" };
        if (T.RecL1Weight > 0 && T.RecL2Weight > 0) names.AddRange(["l1", "l2"]);
        if (T.LpipsWeight > 0 && vae.Config.ImageSize >= Lpips.MinImageSize)
        {
            this.lpips = lpips
                ?? throw new
                MvarException("training.lpips_weight is set: give the LPIPS network (the lpips parameter, loaded from the VGG16 and LPIPS weight files)");
            names.Add(Perceptual);
        }
        augment = new DiffAugment(T.DiscAugmentationList());
        if (T.DiscWeight > 0)
        {
            using var gen = new Generator((ulong)EpochOrder.Mix(T.Seed, 0, 0xD15C), CPU);
            disc = new PatchDiscriminator(vae.Config.InChannels, T.DiscChannels, T.DiscLayers, T.DiscSpectralNorm, gen);
            foreach (var t in disc.state_dict().Values) t.DetachFromDisposeScope();
            disc.train();
            (discOpt, discParameters) = BuildAdamW(disc, T.DiscLr ?? T.TokLr, T.TokBetas, officialNoWd: false);
            names.AddRange([DiscLoss, GenLoss, Lambda, "d_real", "d_fake", "disc_factor"]);
        }
        if (T.EmaDecay > 0)
        {
            emaVae = new VqVae(vae.Config);
            ema = new WeightEma(emaVae, vae, T.EmaDecay);
        }
        for (int si = 0; si < vae.PatchNums.Length; si++) names.Add(Usage(si));
        names.Add(UsageAll);
        metricNames = names.ToArray();
    }

    public override Dictionary<string, double> Step()
    {
        using var scope = NewDisposeScope();
        long g = NextStep;
        var b = batches.Load(LocalBatchIndices(g), train: true, T.Seed, Epoch);
        ReseedForStep(g);
        // a rank whose images were all skipped (--bad-files skip) still takes part in every collective call
        int n = b is null ? 0 : (int)b.Value.images.shape[0];
        double factor = disc is null ? 0 : GanLosses.Ramp(g, T.DiscStart, T.DiscWarmup);
        bool adversarial = factor > 0;
        // the discriminator's own weight: the generator's ramp, or 1 from the start of its pre-training on
        double discFactor = disc is not null && T.DiscPretrain > 0 && g >= T.DiscStart - T.DiscPretrain ? 1 : factor;
        // the augmentations of the step, drawn for the whole global batch (D's view of G's output, then D's real and fake)
        long side = vae.Config.ImageSize;
        DiffAugment.Draw? augG = null, augReal = null, augFake = null;
        if (adversarial) augG = augment.Sample(Order.BatchSize, side, Gen);
        if (discFactor > 0) { augReal = augment.Sample(Order.BatchSize, side, Gen); augFake = augment.Sample(Order.BatchSize, side, Gen); }
        Tensor? recLoss = null, vq = null, loss = null, f = null, rms = null, rec = null, img = null, l1 = null, l2 = null,
            perceptual = null, gLoss = null, shown = null;
        List<Tensor> codes = new();
        double lambda = double.NaN;
        if (b is { } batch)
        {
            img = batch.images;
            (rec, vq, codes, f, rms) = vae.TrainingForward(img);
            var err = ReconstructionError.Of(rec, img, T.RecBounded);
            if (T.RecL1Weight > 0) l1 = err.abs().mean();
            if (T.RecL2Weight > 0) l2 = err.square().mean();
            shown = ReconstructionError.Shown(rec, T.RecBounded);
            recLoss = (Weighted(l1, T.RecL1Weight), Weighted(l2, T.RecL2Weight)) switch
            {
                ({ } a, { } c) => a + c,
                (var a, var c) => (a ?? c)!,
            };
            var nll = recLoss;
            if (lpips is not null) { perceptual = lpips.Distance(shown, img); nll = nll + perceptual * T.LpipsWeight; }
            loss = nll + vq;
            if (adversarial)
            {
                foreach (var p in discParameters) p.requires_grad = false;   // G's step needs no gradient of D's weights
                gLoss = GanLosses.GeneratorHinge(disc!.forward(augment.Apply(shown, augG!, LocalBatchOffset)));
                foreach (var p in discParameters) p.requires_grad = true;
            }
            if (gLoss is not null)
            {
                lambda = AdaptiveWeight(nll, gLoss, n) * T.DiscWeight;
                loss = loss + gLoss * (lambda * factor);
            }
        }
        else if (adversarial && Comm.Size > 1) AdaptiveWeight(null, null, 0);   // its all-reduce needs every rank
        var (lossValue, total) = GlobalMean(loss is null ? double.NaN : loss.item<float>(), n);
        if (total == 0) { NextStep++; return new() { [Loss] = double.NaN }; }
        var (lr, _) = LrSchedule.At(T.Sche, T.TokLr, T.TokWd, T.TokWd, g, (T.Wp > 0 ? T.Wp : Epochs / 50.0) * Order.ItersPerEpoch, TotalSteps, T.Wp0, T.Wpe);
        SetLrWd(lr, T.TokWd, true);
        if (!double.IsFinite(lossValue)) throw new NonFiniteLossException(g, lossValue);
        ClearGrads();
        // weight n / (total / ranks), so that the average over the ranks is the mean over all samples (1 with even shares)
        if (loss is not null) (n * Comm.Size == total ? loss : loss.mul((double)n * Comm.Size / total)).backward();
        Grads.Average();
        double gradNorm = nn.utils.clip_grad_norm_(parameters, T.Tclip > 0 ? T.Tclip : double.MaxValue);
        opt.step();
        ClearGrads();
        if (vae.Quantize.ScaleNorm && !T.TrainsDecoderOnly)   // the running residual RMS per scale, from the mean over all samples of the step
            using (no_grad())
            {
                var (_, all) = GlobalMean(0, n);
                var measured = SumOverRanks(rms is null ? zeros(vae.PatchNums.Length) : rms.mul((double)n)).div(Math.Max(all, 1));
                vae.Quantize.UpdateScaleRms(measured, first: g == 0);   // before the average copies the buffers
            }
        ema?.Update();

        var m = new Dictionary<string, double>
        {
            [Loss] = lossValue, [LearningRate] = lr, [GradNorm] = gradNorm,
            [Reconstruction] = recLoss?.item<float>() ?? double.NaN, [Vq] = vq?.item<float>() ?? double.NaN,
        };
        if (metricNames.Contains("l1")) { m["l1"] = l1?.item<float>() ?? double.NaN; m["l2"] = l2?.item<float>() ?? double.NaN; }
        if (lpips is not null) m[Perceptual] = perceptual?.item<float>() ?? double.NaN;
        if (disc is not null)
        {
            m["disc_factor"] = factor;
            if (discFactor > 0) DiscriminatorStep(img, shown, augReal!, augFake!, discFactor, lr, n, total, m);
            if (gLoss is not null) { m[GenLoss] = gLoss.item<float>(); m[Lambda] = lambda; }
        }
        NextStep++;
        using (no_grad())
        {
            int V = vae.Config.VocabSize, S = vae.PatchNums.Length;
            var stepHits = n > 0 ? stack(codes.Select(c => c.reshape(-1).bincount(null, V))) : zeros(S, V, dtype: ScalarType.Int64);
            hits_SV.add_(SumOverRanks(stepHits));
            for (int si = 0; si < S; si++) m[Usage(si)] = hits_SV[si].gt(0).to_type(ScalarType.Float32).mean().item<float>() * 100;
            var used = hits_SV.sum(dim: 0).gt(0);
            m[UsageAll] = used.to_type(ScalarType.Float32).mean().item<float>() * 100;
            int reinit = 0;
            if (T.CodeReinitEvery > 0 && NextStep % T.CodeReinitEvery == 0)
            {
                reinit = ReinitUnused(used, f);
                hits_SV.zero_();
            }
            m["reinit"] = reinit;
        }
        return ReduceMetrics(m, n);
    }

    static Tensor? Weighted(Tensor? t, double w) => t is null ? null : w == 1 ? t : t * w;

    /// <summary>
    /// VQGAN's adaptive weight from the gradients of the (global-batch mean) reconstruction and adversarial losses at
    /// the decoder's last weight; over several ranks the local gradients, weighted by each rank's share of the samples,
    /// are summed first, so the weight is the one-process value. A rank without images passes nulls.
    /// </summary>
    double AdaptiveWeight(Tensor? nll, Tensor? gLoss, int n)
    {
        using var scope = NewDisposeScope();
        var w = vae.DecoderModule.LastWeight;
        if (Comm.Size == 1) return GanLosses.AdaptiveWeight(nll!, gLoss!, w);
        Tensor gRec = zeros_like(w), gGan = zeros_like(w);
        if (nll is not null && gLoss is not null)
        {
            gRec = autograd.grad(new[] { nll }, new[] { w }, retain_graph: true)[0];
            gGan = autograd.grad(new[] { gLoss }, new[] { w }, retain_graph: true)[0];
        }
        var (_, total) = GlobalMean(0, n);
        var both = SumOverRanks(stack(new[] { gRec, gGan }).mul((double)n / Math.Max(total, 1)));
        double r = both[0].norm().item<float>() / (both[1].norm().item<float>() + 1e-4);
        return Math.Clamp(r, GanLosses.AdaptiveMin, GanLosses.AdaptiveMax);
    }

    /// <summary>One AdamW step of the discriminator: hinge loss on augmented real and (detached) reconstructed images, + LeCam.</summary>
    void DiscriminatorStep(Tensor? img, Tensor? rec, DiffAugment.Draw augReal, DiffAugment.Draw augFake, double factor, double tokLr, int n, int total,
        Dictionary<string, double> m)
    {
        using var scope = NewDisposeScope();
        double lr = tokLr * (T.DiscLr ?? T.TokLr) / T.TokLr;
        foreach (var group in discOpt!.ParamGroups) group.LearningRate = lr;
        disc!.zero_grad(set_to_none: true);
        double dLoss = double.NaN, meanReal = double.NaN, meanFake = double.NaN;
        if (img is not null && rec is not null)
        {
            var real = disc.forward(augment.Apply(img, augReal, LocalBatchOffset));
            var fake = disc.forward(augment.Apply(rec.detach(), augFake, LocalBatchOffset));
            var loss = GanLosses.DiscriminatorHinge(real, fake) * factor;
            if (T.LecamWeight > 0) loss = loss + GanLosses.LeCam(real, fake, lecamReal, lecamFake) * T.LecamWeight;
            (n * Comm.Size == total ? loss : loss.mul((double)n * Comm.Size / total)).backward();
            dLoss = loss.item<float>(); meanReal = real.mean().item<float>(); meanFake = fake.mean().item<float>();
        }
        (discGrads ??= new GradientAverager(Comm, discParameters)).Average();
        discOpt.step();
        disc.zero_grad(set_to_none: true);
        (meanReal, _) = GlobalMean(meanReal, n);
        (meanFake, _) = GlobalMean(meanFake, n);
        lecamReal = LeCamDecay * lecamReal + (1 - LeCamDecay) * meanReal;
        lecamFake = LeCamDecay * lecamFake + (1 - LeCamDecay) * meanFake;
        m[DiscLoss] = dLoss; m["d_real"] = meanReal; m["d_fake"] = meanFake;
    }

    /// <summary>
    /// Replaces each unused code by an encoder output vector of this (global) batch, drawn with the step generator;
    /// <paramref name="f_BChw"/> is null on a rank without images this step.
    /// </summary>
    int ReinitUnused(Tensor used_V, Tensor? f_BChw)
    {
        var dead = used_V.logical_not().nonzero().reshape(-1);
        int n = (int)dead.shape[0];
        if (n == 0) return 0;
        int C = vae.Config.ZChannels;
        var pool = f_BChw is null ? zeros(0, C) : f_BChw.permute(0, 2, 3, 1).reshape(-1, C);
        if (vae.Quantize.ScaleNorm && pool.shape[0] > 0) pool = pool / pool.square().mean().sqrt();   // codes live at unit RMS
        if (Comm.Size > 1)
        {
            var rows = pool.contiguous().data<float>().ToArray();
            pool = tensor(Comm.AllGatherRows(rows, C)).view(-1, C);
        }
        var pick = randint(pool.shape[0], new long[] { n }, generator: Gen);
        var w = vae.Quantize.embedding.weight!;
        w.index_copy_(0, dead, pool.index_select(0, pick));
        ReinitCount += n;
        return n;
    }

    protected override Dictionary<string, object?> ExtraState()
    {
        var s = new Dictionary<string, object?> { ["hits_SV"] = hits_SV, ["reinit_count"] = ReinitCount };
        if (disc is not null)
        {
            s["disc"] = disc.state_dict().ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
            s["disc_optimizer"] = OptimizerBytes(discOpt!);
            s["lecam"] = tensor(new[] { lecamReal, lecamFake });
        }
        if (emaVae is not null) s["ema"] = emaVae.state_dict().ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
        return s;
    }

    protected override void RestoreExtra(Dictionary<object, object?> extra)
    {
        const string where = "checkpoint:extra";
        if (extra.ContainsKey("hits_SV"))
            CheckpointFields.Restoring("hits_SV", where, () => hits_SV.copy_(CheckpointFields.Tensor(extra, "hits_SV", where, hits_SV.dtype,
                rank: (int)hits_SV.dim())));
        if (extra.ContainsKey("reinit_count")) ReinitCount = CheckpointFields.Int64(extra, "reinit_count", where);
        if (disc is not null)
        {
            if (extra.GetValueOrDefault("disc") is null) throw new
                CheckpointException("the checkpoint has no discriminator state (training.disc_weight was 0 when it was saved)");
            var sd = StateDicts.Select(extra["disc"], null, "checkpoint:extra.disc");
            using (no_grad()) StateDictLoader.LoadInto(disc, sd, "checkpoint:extra.disc");
            CheckpointFields.Restoring("disc_optimizer", where, () => LoadOptimizerBytes(discOpt!, CheckpointFields.Tensor(extra, "disc_optimizer", where,
                ScalarType.Byte)));
            var l = CheckpointFields.Tensor(extra, "lecam", where, ScalarType.Float64).data<double>().ToArray();
            if (l.Length != 2) throw new CheckpointException($"{where}: the field 'lecam' has {l.Length} values, expected 2");
            (lecamReal, lecamFake) = (l[0], l[1]);
        }
        if (emaVae is not null)
        {
            if (extra.GetValueOrDefault("ema") is null) throw new
                CheckpointException("the checkpoint has no weight average (training.ema_decay was 0 when it was saved)");
            var sd = StateDicts.Select(extra["ema"], null, "checkpoint:extra.ema");
            using (no_grad()) StateDictLoader.LoadInto(emaVae, sd, "checkpoint:extra.ema");
        }
    }

    protected override IReadOnlyDictionary<string, Tensor> ExportedWeights() => ExportedVae.state_dict();

    /// <summary>Originals (top row) and their reconstructions (bottom row) of fixed images, as one PNG.</summary>
    public void SaveReconstructions(Tensor images, string path)
    {
        using var scope = NewDisposeScope();
        var model = ExportedVae;
        model.eval();
        Tensor rec;
        using (no_grad()) rec = model.ImgToReconstructedImg(images);
        if (model == vae) vae.train();
        var list = ImageFiles.Unbatch(images).Concat(ImageFiles.Unbatch(rec)).ToList();
        ImageFiles.SaveGrid(list, path, columns: (int)images.shape[0]);
    }

    public override void Dispose()
    {
        hits_SV.Dispose();
        discGrads?.Dispose();
        discOpt?.Dispose();
        disc?.Dispose();
        emaVae?.Dispose();
        base.Dispose();
    }
}
