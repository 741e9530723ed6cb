using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Training.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Training;

/// <summary>
/// Trains the multi-scale VQ-VAE: reconstruction loss (L1 or MSE) + the quantizer's VQ loss (commitment with beta,
/// codebook, straight-through estimator), AdamW with the warm-up/decay schedule. Code usage is counted per scale;
/// every code_reinit_every steps the codes no scale used since the last check are re-initialised from the encoder
/// outputs of the current batch. Over several ranks the code counts are summed over the ranks and the replacement
/// vectors are drawn from the whole global batch's encoder outputs (gathered in rank order), as in one process.
/// </summary>
public sealed class TokenizerTrainer : Trainer
{
    readonly VqVae vae;
    readonly ImageBatches batches;
    readonly AdamW opt;
    readonly List<Parameter> parameters;
    readonly Tensor hits_SV;   // code hits per scale since the last re-initialisation check
    readonly string[] metricNames;

    public VqVae Vae => vae;
    protected override nn.Module Model => vae;
    protected override OptimizerHelper Optimizer => opt;
    public override string Kind => "tokenizer";
    public override IReadOnlyList<string> MetricNames => metricNames;
    /// <summary>Codes re-initialised so far.</summary>
    public long ReinitCount { get; private set; }

    public TokenizerTrainer(ModelConfig config, VqVae vae, ImageBatches batches, ICommunicator? comm = null)
        : base(config, batches.Data.Count, tokenizer: true, comm)
    {
        this.vae = vae; this.batches = batches;
        vae.EnableTraining();
        (opt, parameters) = BuildAdamW(vae, T.TokLr, T.TokBetas, officialNoWd: false);
        hits_SV = zeros(vae.PatchNums.Length, vae.Config.VocabSize, dtype: ScalarType.Int64).DetachFromDisposeScope();
        var names = new List<string> { "loss", "rec", "vq", "lr", "grad_norm", "reinit" };
        for (int si = 0; si < vae.PatchNums.Length; si++) names.Add($"usage_s{si}");
        names.Add("usage_all");
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
        Tensor? recLoss = null, vq = null, loss = null, f = null;
        List<Tensor> codes = new();
        if (b is { } batch)
        {
            var img = batch.images;
            (var rec, vq, codes, f) = vae.TrainingForward(img);
            recLoss = T.RecLoss == "mse" ? F.mse_loss(rec, img) : F.l1_loss(rec, img);
            loss = recLoss + vq;
        }
        var (lossValue, total) = GlobalMean(loss is null ? double.NaN : loss.item<float>(), n);
        if (total == 0) { NextStep++; return new() { ["loss"] = double.NaN }; }
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
        NextStep++;

        var m = new Dictionary<string, double>
        {
            ["loss"] = lossValue, ["lr"] = lr, ["grad_norm"] = gradNorm,
            ["rec"] = recLoss?.item<float>() ?? double.NaN, ["vq"] = vq?.item<float>() ?? double.NaN,
        };
        using (no_grad())
        {
            int V = vae.Config.VocabSize, S = vae.PatchNums.Length;
            var stepHits = n > 0 ? stack(codes.Select(c => c.reshape(-1).bincount(null, V))) : zeros(S, V, dtype: ScalarType.Int64);
            hits_SV.add_(SumOverRanks(stepHits));
            for (int si = 0; si < S; si++) m[$"usage_s{si}"] = hits_SV[si].gt(0).to_type(ScalarType.Float32).mean().item<float>() * 100;
            var used = hits_SV.sum(dim: 0).gt(0);
            m["usage_all"] = used.to_type(ScalarType.Float32).mean().item<float>() * 100;
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

    protected override Dictionary<string, object?> ExtraState() => new() { ["hits_SV"] = hits_SV, ["reinit_count"] = ReinitCount };

    protected override void RestoreExtra(Dictionary<object, object?> extra)
    {
        if (extra.GetValueOrDefault("hits_SV") is Tensor h) hits_SV.copy_(h);
        if (extra.GetValueOrDefault("reinit_count") is { } c) ReinitCount = Convert.ToInt64(c);
    }

    /// <summary>Originals (top row) and their reconstructions (bottom row) of fixed images, as one PNG.</summary>
    public void SaveReconstructions(Tensor images, string path)
    {
        using var scope = NewDisposeScope();
        vae.eval();
        Tensor rec;
        using (no_grad()) rec = vae.ImgToReconstructedImg(images);
        vae.train();
        var list = ImageFiles.Unbatch(images).Concat(ImageFiles.Unbatch(rec)).ToList();
        ImageFiles.SaveGrid(list, path, columns: (int)images.shape[0]);
    }

    public override void Dispose()
    {
        hits_SV.Dispose();
        base.Dispose();
    }
}
