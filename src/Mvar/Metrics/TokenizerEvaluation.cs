using System.Diagnostics;
using Mvar.Data;
using Mvar.Diagnostics;
using Mvar.IO;
using Mvar.Tokenizer;
using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>The codebook usage of one scale of token maps (<see cref="CodeUsage"/>), with the scale's index and side.</summary>
public sealed record ScaleUsage(int Scale, int Side, long Tokens, int UsedCodes, double UsagePercent, double Perplexity);

/// <summary>
/// What <see cref="TokenizerEvaluation"/> measured (the JSON of <c>mvar eval tokenizer</c>). PSNR and SSIM compare every
/// image's 8-bit reconstruction with its original in [0, 1] (<see cref="Psnr"/>, <see cref="Ssim"/>); rFID, IS,
/// precision and recall score the reconstructions against reference features as <c>mvar eval</c> scores samples
/// (null without a reference); codebook usage and perplexity count the codes chosen per scale and over all scales.
/// </summary>
public sealed record TokenizerReport
{
    public string Command { get; init; } = "";
    public string? Preset { get; init; }
    public string Tokenizer { get; init; } = "";
    /// <summary>The first 16 hex digits of the tokenizer file's SHA-256, so reports of different weights at one path tell apart.</summary>
    public string TokenizerSha256 { get; init; } = "";
    public string Data { get; init; } = "";
    public int Images { get; init; }
    public int ImageSize { get; init; }
    public int Channels { get; init; }
    /// <summary>Mean over the images of each image's PSNR (dB, peak 1); images reconstructed exactly (infinite PSNR) are left out and counted in
    /// <see cref="PsnrIdenticalImages"/> (+Infinity when all are).</summary>
    public double PsnrDb { get; init; }
    public int PsnrIdenticalImages { get; init; }
    /// <summary>Mean over the images of each image's SSIM (<see cref="Ssim"/>).</summary>
    public double Ssim { get; init; }
    public string? Reference { get; init; }
    public long? ReferenceImages { get; init; }
    public string? Features { get; init; }
    public double? Rfid { get; init; }
    public double? IsMean { get; init; }
    public double? IsStd { get; init; }
    public double? Precision { get; init; }
    public double? Recall { get; init; }
    public int VocabSize { get; init; }
    public ScaleUsage[] CodebookPerScale { get; init; } = [];
    public CodeUsage CodebookAllScales { get; init; } = new(0, 0, 0, 0);
    /// <summary>How each metric was computed, so that a report file explains itself.</summary>
    public Dictionary<string, string> Definitions { get; init; } = [];
    public int Batch { get; init; }
    public double Seconds { get; init; }
    public double ImagesPerSecond { get; init; }
    public string Machine { get; init; } = "";
    public int Threads { get; init; }

    public string ToJson() => ReportJson.Serialize(this);
}

/// <summary>How <see cref="TokenizerEvaluation"/> runs.</summary>
public sealed record TokenizerEvaluationOptions
{
    /// <summary>Images per encode/decode call (see <see cref="TokenizerEvaluation.DefaultBatch"/>).</summary>
    public int Batch { get; init; } = 250;
    /// <summary>The feature network and the reference set's features (N, D) for rFID, IS, precision and recall; both null: none.</summary>
    public IFeatureNetwork? Network { get; init; }
    public Tensor? ReferenceFeatures_ND { get; init; }
    /// <summary>The first images kept (originals and reconstructions) for a grid.</summary>
    public int GridImages { get; init; } = 16;
    /// <summary>Told after every batch: images done, of total.</summary>
    public IProgress<WorkProgress>? Progress { get; init; }
}

/// <summary>The report and the first <see cref="TokenizerEvaluationOptions.GridImages"/> originals and reconstructions (N, 3, H, W) in [-1, 1], 8-bit
/// values.</summary>
public sealed class TokenizerEvaluationResult(TokenizerReport report, Tensor originals, Tensor reconstructions) : IDisposable
{
    public TokenizerReport Report { get; } = report;
    public Tensor Originals { get; } = originals;
    public Tensor Reconstructions { get; } = reconstructions;
    public void Dispose() { Originals.Dispose(); Reconstructions.Dispose(); }
}

/// <summary>
/// Reconstructs every image of a data set through a tokenizer (encode, quantize over all scales, decode; batched,
/// without gradients, one dispose scope per batch) and measures the reconstructions: PSNR, SSIM, codebook usage and
/// perplexity, and with a feature network rFID, IS, precision and recall. Only per-image numbers, code counts,
/// features and the grid images are kept, so memory does not grow with the images' size.
/// </summary>
public static class TokenizerEvaluation
{
    /// <summary>About 256k pixels per batch: 250 images at 32x32, 3 at 256x256 (the decoder's activations dominate).</summary>
    public static int DefaultBatch(int imageSize) => Math.Clamp(256_000 / (imageSize * imageSize), 1, 250);

    public static readonly Dictionary<string, string> Definitions = new()
    {
        ["psnr_db"] =
            "mean over the images of 10 log10(1 / MSE), the MSE of one image over all its pixels and channels in [0, 1], the reconstruction rounded to 8 "
            + "bits; exact reconstructions (infinite PSNR) are left out of the mean and counted in psnr_identical_images",
        ["ssim"] =
            "mean over the images of SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, data range 1, the SSIM map over the "
            + "valid window positions (no padding) averaged; on the grey channel, or the BT.601 luma of colour images (weights 0.299 R, 0.587 G, 0.114 "
            + "B); the reconstruction rounded to 8 bits",
        ["rfid"] =
            "Frechet distance between the feature-network features of the 8-bit reconstructions and of the reference set (as sample sets are scored); "
            + "is_mean/is_std, precision, recall likewise (10 IS splits, k = 3)",
        ["codebook"] =
            "per scale and over all scales: tokens counted, codes used at least once (used_codes, usage_percent of vocab_size), perplexity exp(-sum p log "
            + "p) of the code histogram (natural log)",
    };

    public static TokenizerEvaluationResult Run(VqVae vae, ImageBatches data, TokenizerEvaluationOptions o)
    {
        int n = data.Data.Count, B = o.Batch, C = vae.Config.InChannels;
        if (n < 1) throw new MvarException("the data set is empty");
        if (B < 1) throw new MvarException($"batch must be at least 1, got {B}");
        if ((o.Network == null) != (o.ReferenceFeatures_ND is null)) throw new
            ArgumentException("give both the feature network and the reference features, or neither");
        if (o.Network != null && n <= o.Network.FeatureDim)
            throw new
                MvarException($"{n} images are too few for rFID: the {o.Network.FeatureDim}-dimensional features of {o.Network.Name} need at least "
                + $"{o.Network.FeatureDim + 1}");

        var sw = Stopwatch.StartNew();
        var histogram = new CodebookHistogram(vae.Quantize.VocabSize, vae.PatchNums.Length);
        var psnr = new List<double>(n);
        var ssim = new List<double>(n);
        var features = new List<Tensor>(); var probs = new List<Tensor>();
        var gridOriginals = new List<Tensor>(); var gridRecs = new List<Tensor>();
        try
        {
            using (no_grad())
                for (int start = 0; start < n; start += B)
                {
                    using var scope = NewDisposeScope();
                    var indices = Enumerable.Range(start, Math.Min(B, n - start)).ToList();
                    var loaded = data.Load(indices, train: false);
                    if (loaded == null) continue;   // every image of the batch unreadable and skipped
                    var images = loaded.Value.images;
                    var idx = vae.ImgToIdxBl(images);
                    histogram.Add(idx);
                    var recU8 = Npz.ToUint8NHWC(vae.IdxBlToImg(idx));
                    var origU8 = Npz.ToUint8NHWC(images);
                    var rec01 = Unit(recU8, C); var orig01 = Unit(origU8, C);
                    psnr.AddRange(Psnr.PerImage(orig01, rec01));
                    ssim.AddRange(Ssim.PerImage(orig01, rec01));
                    var rec = Npz.FromUint8NHWC(recU8);
                    if (o.Network != null)
                    {
                        var (f, p) = o.Network.Score(rec);
                        features.Add(f.DetachFromDisposeScope()); probs.Add(p.DetachFromDisposeScope());
                    }
                    int keep = Math.Min(o.GridImages - gridRecs.Sum(t => (int)t.shape[0]), (int)rec.shape[0]);
                    if (keep > 0)
                    {
                        gridOriginals.Add(Npz.FromUint8NHWC(origU8).narrow(0, 0, keep).DetachFromDisposeScope());
                        gridRecs.Add(rec.narrow(0, 0, keep).DetachFromDisposeScope());
                    }
                    o.Progress?.Report(new WorkProgress(start + indices.Count, n));
                }
            if (psnr.Count == 0) throw new MvarException("no image of the data set could be read");

            double? fid = null, isMean = null, isStd = null, precision = null, recall = null;
            if (o.Network != null)
            {
                using var scope = NewDisposeScope();
                var m = SampleEvaluation.Metrics(cat(features), cat(probs), o.ReferenceFeatures_ND!);
                (fid, isMean, isStd, precision, recall) = (m.Fid, m.IsMean, m.IsStd, m.Precision, m.Recall);
            }
            var finite = psnr.Where(double.IsFinite).ToList();
            double seconds = sw.Elapsed.TotalSeconds;
            var perScale = histogram.PerScale().Select((u, si) =>
                new ScaleUsage(si, vae.PatchNums[si], u.Tokens, u.UsedCodes, u.UsagePercent, u.Perplexity)).ToArray();
            var report = new TokenizerReport
            {
                Images = psnr.Count, ImageSize = vae.Config.ImageSize, Channels = C,
                PsnrDb = finite.Count > 0 ? finite.Average() : double.PositiveInfinity, PsnrIdenticalImages = psnr.Count - finite.Count,
                Ssim = ssim.Average(),
                ReferenceImages = o.ReferenceFeatures_ND?.shape[0], Features = o.Network?.Name,
                Rfid = fid, IsMean = isMean, IsStd = isStd, Precision = precision, Recall = recall,
                VocabSize = histogram.VocabSize, CodebookPerScale = perScale, CodebookAllScales = histogram.AllScales(),
                Definitions = new(Definitions), Batch = B, Seconds = seconds, ImagesPerSecond = psnr.Count / Math.Max(seconds, 1e-9),
                Machine = MachineInfo.CpuModel(), Threads = get_num_threads(),
            };
            return new TokenizerEvaluationResult(report, Stack(gridOriginals), Stack(gridRecs));
        }
        finally
        {
            foreach (var t in features.Concat(probs).Concat(gridOriginals).Concat(gridRecs)) t.Dispose();
        }
    }

    /// <summary>uint8 N x H x W x 3 (grey repeated) to float64 (N, C, H, W) in [0, 1], the model's C channels.</summary>
    static Tensor Unit(Tensor u8_NHWC, int channels) =>
        u8_NHWC.narrow(3, 0, channels).permute(0, 3, 1, 2).to(ScalarType.Float64).div(255.0);

    static Tensor Stack(List<Tensor> parts) => parts.Count == 0 ? empty(0, 3, 0, 0) : cat(parts).DetachFromDisposeScope();
}
