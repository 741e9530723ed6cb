using System.Diagnostics;
using Mvar.Config;
using Mvar.Diagnostics;
using Mvar.IO;
using Mvar.Metrics;
using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Benchmarks;

/// <summary>How <see cref="ModelComparison"/> samples: the same classes, settings and seeds for every model.</summary>
public sealed record ComparisonOptions
{
    /// <summary>The class of every image, in order (see <see cref="ModelComparison.BalancedClasses"/>).</summary>
    public IReadOnlyList<long> Classes { get; init; } = [];
    /// <summary>Images per sampling call.</summary>
    public int Batch { get; init; } = 50;
    /// <summary>cfg, top-k, top-p; batch i is drawn with seed <c>Sampling.Seed + i</c> (0 when null).</summary>
    public SamplingOptions Sampling { get; init; } = new() { Seed = 0 };
    /// <summary>Images kept per class for the sample grids.</summary>
    public int GridPerClass { get; init; } = 4;
    /// <summary>Keep every image (uint8 N x H x W x 3) for an .npz; otherwise only the grid images are kept.</summary>
    public bool KeepImages { get; init; }
    /// <summary>
    /// Samples larger than this side are centre-cropped to it before scoring (null: scored whole): the reference
    /// images' side when the model was trained on them padded (Fashion-MNIST 28x28 padded to 32x32), so both sets are
    /// framed alike for the feature network. Kept images are not cropped.
    /// </summary>
    public int? ScoreSide { get; init; }
    /// <summary>Called after every batch of every model.</summary>
    public Action<ComparisonProgress>? Progress { get; init; }
}

/// <summary>One model's progress: images done of total, and the seconds its sampling (transformer + decode) took so far.</summary>
public sealed record ComparisonProgress(string Model, int Done, int Total, double SamplingSeconds);

/// <summary>The figures of one model (the JSON of <c>mvar compare</c>).</summary>
public sealed record ModelFigures
{
    public string Name { get; init; } = "";
    public string Arch { get; init; } = "";
    public int Depth { get; init; }
    public long Parameters { get; init; }
    public int Images { get; init; }
    public double Fid { get; init; }
    public double IsMean { get; init; }
    public double IsStd { get; init; }
    public double Precision { get; init; }
    public double Recall { get; init; }
    /// <summary>
    /// Share of the samples the feature network classifies as the class they were drawn for (null when its classes
    /// are not the models' classes, e.g. Inception's 1000 against 10).
    /// </summary>
    public double? ClassAccuracy { get; init; }
    /// <summary>Sampling time per image: transformer (scale loop, filtering, draws, quantizer) + decode, at the batch size used.</summary>
    public double SecondsPerImage { get; init; }
    public double TransformerSecondsPerImage { get; init; }
    public double DecodeSecondsPerImage { get; init; }
    /// <summary>Peak resident memory during sampling (transformer + decode of a batch) above the resident size just before it, which holds the
    /// weights.</summary>
    public double PeakAboveWeightsMb { get; init; }
    /// <summary>Bytes the KV cache held at the end of the first batch (VAR; 0 for MVAR), and that divided by the batch's images.</summary>
    public long KvCacheBytesPerBatch { get; init; }
    public double KvCacheBytesPerImage { get; init; }
    /// <summary>Analytic transformer FLOPs per image at the batch size used (<see cref="SamplingFlops"/>).</summary>
    public double GflopsPerImage { get; init; }
}

/// <summary>One model's result: its figures and the images kept (uint8 N x H x W x 3).</summary>
public sealed class ModelRun(ModelFigures figures, Tensor[][] gridPerClass, Tensor? images) : IDisposable
{
    public ModelFigures Figures { get; } = figures;
    /// <summary>Per class, up to <see cref="ComparisonOptions.GridPerClass"/> images (H x W x 3 uint8).</summary>
    public Tensor[][] GridPerClass { get; } = gridPerClass;
    /// <summary>Every image (N x H x W x 3 uint8) when <see cref="ComparisonOptions.KeepImages"/>, else null.</summary>
    public Tensor? Images { get; } = images;

    public void Dispose()
    {
        foreach (var t in GridPerClass.SelectMany(x => x)) t.Dispose();
        Images?.Dispose();
    }
}

/// <summary>
/// Samples the same classes with the same settings and seeds from several transformers sharing one tokenizer, and
/// measures each: FID, Inception Score, precision and recall against reference features (through the feature
/// network), sampling seconds per image, peak memory above the weights, KV cache bytes, analytic FLOPs, parameters.
/// The models take turns batch by batch (the order alternating), so a machine that gets busier or quieter during the
/// run affects all of them alike. Images are scored as they come, from their 8-bit form (as an .npz of them would be
/// scored by <c>mvar eval</c>); only features, probabilities and the grid images are kept, unless every image is asked for.
/// Memory is measured on the first two batches of each model (one in each turn order): the freed heap is returned to
/// the system first, the peak reset, and the peak during sampling taken above the resident size just before it.
/// </summary>
public static class ModelComparison
{
    /// <summary>Batches whose peak memory is measured (the trimming before them would otherwise cost page faults in every batch).</summary>
    const int MemoryBatches = 2;

    /// <summary><paramref name="count"/> classes in order, each of the <paramref name="numClasses"/> classes equally often (within one).</summary>
    public static long[] BalancedClasses(int count, int numClasses) =>
        Enumerable.Range(0, count).Select(i => (long)i * numClasses / count).ToArray();

    public static List<ModelRun> Run(IReadOnlyList<(string Name, ScaleTransformer Model)> models, VqVae vae, IFeatureNetwork net,
        Tensor realFeatures_ND, ComparisonOptions o)
    {
        int n = o.Classes.Count, B = o.Batch;
        if (B < 1) throw new MvarException($"batch must be at least 1, got {B}");
        if (n <= net.FeatureDim)
            throw new
                MvarException($"{n} images per model are too few: FID with the {net.FeatureDim}-dimensional features of {net.Name} needs at least "
                + $"{net.FeatureDim + 1}");
        if (models.Select(m => m.Model.NumClasses).Distinct().Count() != 1)
            throw new MvarException($"the models have different numbers of classes: {string.Join(", ", models.Select(m => $"{m.Name} {m.Model.NumClasses}"))}");
        int numClasses = models[0].Model.NumClasses;
        foreach (var c in o.Classes)
            if (c < 0 || c >= numClasses) throw new MvarException($"unknown class id {c}: the models have classes 0..{numClasses - 1}");
        o.Sampling.Validate();
        ulong seed = o.Sampling.Seed ?? 0;

        using var _ = no_grad();
        var states = models.Select(m => new State(m.Name, m.Model, vae, numClasses)).ToArray();
        int batches = (n + B - 1) / B;
        for (int b = 0; b < batches; b++)
        {
            int start = b * B, size = Math.Min(B, n - start);
            var classes = o.Classes.Skip(start).Take(size).ToArray();
            var options = o.Sampling with { Seed = seed + (ulong)b };
            foreach (int i in Turns(states.Length, b))
            {
                states[i].SampleBatch(classes, options, net, o, measureMemory: b < MemoryBatches);
                o.Progress?.Invoke(new ComparisonProgress(states[i].Name, start + size, n, states[i].TransformerSeconds + states[i].DecodeSeconds));
            }
        }

        var runs = new List<ModelRun>();
        try
        {
            foreach (var s in states)
            {
                var t = s.Model.Config;
                using var scope = NewDisposeScope();
                var fake = cat(s.Features); var probs = cat(s.Probs);
                var m = SampleEvaluation.Metrics(fake, probs, realFeatures_ND);
                double? accuracy = probs.shape[1] == numClasses
                    ? probs.argmax(1).eq(tensor(o.Classes.ToArray())).to_type(ScalarType.Float64).mean().item<double>() : null;
                int firstBatch = Math.Min(B, n);
                bool guided = s.Model.Pattern.Guides(o.Sampling.Cfg);
                var figures = new ModelFigures
                {
                    Name = s.Name, Arch = t.Arch.Name(), Depth = t.Depth, Parameters = s.Model.ParameterCount(), Images = n,
                    Fid = m.Fid, IsMean = m.IsMean, IsStd = m.IsStd, Precision = m.Precision, Recall = m.Recall,
                    ClassAccuracy = accuracy,
                    SecondsPerImage = (s.TransformerSeconds + s.DecodeSeconds) / n,
                    TransformerSecondsPerImage = s.TransformerSeconds / n, DecodeSecondsPerImage = s.DecodeSeconds / n,
                    PeakAboveWeightsMb = s.PeakAboveMb,
                    KvCacheBytesPerBatch = s.KvBytes, KvCacheBytesPerImage = (double)s.KvBytes / firstBatch,
                    GflopsPerImage = SamplingFlops.For(t, vae.Config, firstBatch, guided).Total / firstBatch / 1e9,
                };
                runs.Add(new ModelRun(figures, s.Grid.Select(g => g.ToArray()).ToArray(), o.KeepImages ? cat(s.Kept).DetachFromDisposeScope() : null));
            }
        }
        catch
        {
            foreach (var r in runs) r.Dispose();
            throw;
        }
        finally
        {
            foreach (var s in states) s.Dispose();
        }
        return runs;
    }

    /// <summary>The order of the models in batch <paramref name="b"/>: forwards in even batches, backwards in odd ones.</summary>
    static IEnumerable<int> Turns(int count, int b) => b % 2 == 0 ? Enumerable.Range(0, count) : Enumerable.Range(0, count).Reverse();

    /// <summary>What one model has produced so far.</summary>
    sealed class State(string name, ScaleTransformer model, VqVae vae, int numClasses) : IDisposable
    {
        public string Name { get; } = name;
        public ScaleTransformer Model { get; } = model;
        readonly ScaleSampler sampler = new(model, vae);
        public readonly List<Tensor> Features = [], Probs = [], Kept = [];
        public readonly List<Tensor>[] Grid = Enumerable.Range(0, numClasses).Select(_ => new List<Tensor>()).ToArray();
        public double TransformerSeconds, DecodeSeconds, PeakAboveMb;
        public long KvBytes = -1;

        public void SampleBatch(long[] classes, SamplingOptions options, IFeatureNetwork net, ComparisonOptions o, bool measureMemory)
        {
            using var scope = NewDisposeScope();
            double before = 0;
            if (measureMemory)
            {
                ProcessMemory.Trim();
                before = ProcessMemory.CurrentMb;
                ProcessMemory.ResetPeak();
            }
            var sw = Stopwatch.StartNew();
            using var result = sampler.Sample(classes, classes.Length, options);
            TransformerSeconds += sw.Elapsed.TotalSeconds;
            sw.Restart();
            var images = vae.FhatToImg(result.FHat);
            DecodeSeconds += sw.Elapsed.TotalSeconds;
            if (measureMemory) PeakAboveMb = Math.Max(PeakAboveMb, ProcessMemory.PeakMb - before);
            if (KvBytes < 0) KvBytes = result.KvCacheBytes;

            var u8 = Npz.ToUint8NHWC(images);
            images.Dispose();
            var scored = Npz.FromUint8NHWC(u8);
            if (o.ScoreSide is int side && scored.shape[2] > side && scored.shape[3] > side)
                scored = scored.narrow(2, (scored.shape[2] - side) / 2, side).narrow(3, (scored.shape[3] - side) / 2, side);
            var (features, probs) = net.Score(scored);
            Features.Add(features.DetachFromDisposeScope());
            Probs.Add(probs.DetachFromDisposeScope());
            for (int i = 0; i < classes.Length; i++)
                if (Grid[classes[i]].Count < o.GridPerClass) Grid[classes[i]].Add(u8[i].clone().DetachFromDisposeScope());
            if (o.KeepImages) Kept.Add(u8.DetachFromDisposeScope());
        }

        public void Dispose()
        {
            foreach (var t in Features.Concat(Probs).Concat(Kept)) t.Dispose();
        }
    }
}
