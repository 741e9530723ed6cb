using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using Mvar.Tokenizer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Training;

/// <summary>
/// Trains the multi-scale VQ-VAE: reconstruction loss (L1 or MSE) + the quantizer's VQ loss (commitment with beta,
/// codebook, straight-through estimator), AdamW with the warm-up/decay schedule. Code usage is counted per scale;
/// every code_reinit_every steps the codes no scale used since the last check are re-initialised from the encoder
/// outputs of the current batch.
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

    public TokenizerTrainer(ModelConfig config, VqVae vae, ImageBatches batches) : base(config, batches.Data.Count, tokenizer: true)
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
        var b = batches.Load(Order.Batch(g), train: true, T.Seed, Epoch);
        ReseedForStep(g);
        if (b is null) { NextStep++; return new() { ["loss"] = double.NaN }; }
        var img = b.Value.images;
        var (lr, _) = LrSchedule.At(T.Sche, T.TokLr, T.TokWd, T.TokWd, g, (T.Wp > 0 ? T.Wp : Epochs / 50.0) * Order.ItersPerEpoch, TotalSteps, T.Wp0, T.Wpe);
        SetLrWd(lr, T.TokWd, true);

        var (rec, vq, codes, f) = vae.TrainingForward(img);
        var recLoss = T.RecLoss == "mse" ? F.mse_loss(rec, img) : F.l1_loss(rec, img);
        var loss = recLoss + vq;
        double lossValue = loss.item<float>();
        if (!double.IsFinite(lossValue)) throw new NonFiniteLossException(g, lossValue);
        ClearGrads();
        loss.backward();
        double gradNorm = nn.utils.clip_grad_norm_(parameters, T.Tclip > 0 ? T.Tclip : double.MaxValue);
        opt.step();
        ClearGrads();
        NextStep++;

        var m = new Dictionary<string, double>
        {
            ["loss"] = lossValue, ["rec"] = recLoss.item<float>(), ["vq"] = vq.item<float>(), ["lr"] = lr, ["grad_norm"] = gradNorm,
        };
        using (no_grad())
        {
            int V = vae.Config.VocabSize;
            for (int si = 0; si < codes.Count; si++) hits_SV[si].add_(codes[si].reshape(-1).bincount(null, V));
            for (int si = 0; si < codes.Count; si++) m[$"usage_s{si}"] = hits_SV[si].gt(0).to_type(ScalarType.Float32).mean().item<float>() * 100;
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
        return m;
    }

    /// <summary>Replaces each unused code by an encoder output vector of this batch (drawn with the step generator).</summary>
    int ReinitUnused(Tensor used_V, Tensor f_BChw)
    {
        var dead = used_V.logical_not().nonzero().reshape(-1);
        int n = (int)dead.shape[0];
        if (n == 0) return 0;
        long C = f_BChw.shape[1];
        var pool = f_BChw.permute(0, 2, 3, 1).reshape(-1, C);
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
