using System.Diagnostics;
using Mvar.Diagnostics;
using Mvar.IO;
using Mvar.Sampling;
using static TorchSharp.torch;

namespace Mvar.Serving;

/// <summary>
/// Runs a batch of compatible jobs as one <see cref="ScaleSampler"/> call: one forward pass per scale for all their
/// samples, each job drawing from its own seeded generator (<see cref="SampleGroup"/>), so a job gets the tokens it would
/// get alone. After each scale, streaming jobs get their decoded preview; at the end every live job gets its images.
/// </summary>
public sealed class SamplerBatchRunner(IReadOnlyDictionary<string, ScaleSampler> samplers) : IBatchRunner
{
    public IReadOnlyDictionary<string, ScaleSampler> Samplers { get; } = samplers;

    public void Run(IReadOnlyList<GenerationJob> batch, CancellationToken stop)
    {
        var key = batch[0].Request;
        var sampler = Samplers[key.Arch];
        var offsets = new int[batch.Count + 1];
        for (int i = 0; i < batch.Count; i++) offsets[i + 1] = offsets[i] + batch[i].Request.Size;
        var queueSeconds = batch.Select(j => j.SecondsSinceEnqueued).ToArray();
        var scaleSeconds = new List<double>();
        var clock = Stopwatch.StartNew();
        var scaleStart = clock.Elapsed;
        double previewSeconds = 0;

        var options = new SamplingOptions { Cfg = key.Cfg, TopK = key.TopK, TopP = key.TopP };
        var groups = batch.Select(j => new SampleGroup(j.Request.Classes, j.Request.Count, j.Request.Seed)).ToList();
        using var result = sampler.Sample(groups, options, step =>
        {
            scaleSeconds.Add((clock.Elapsed - scaleStart).TotalSeconds);
            stop.ThrowIfCancellationRequested();
            if (!batch.Any(j => j.IsLive)) throw new OperationCanceledException("every request of the batch is gone");
            for (int i = 0; i < batch.Count; i++)
            {
                if (batch[i].OnPreview is not { } report || !batch[i].IsLive) continue;
                using var scope = NewDisposeScope();
                var images = sampler.Vae.FhatToImg(step.FHat_BChw.narrow(0, offsets[i], offsets[i + 1] - offsets[i]));
                report(new ScalePreview(step.Si, step.ScaleCount, step.Side, scaleSeconds[^1], GridPng(images)));
            }
            previewSeconds += (clock.Elapsed - scaleStart).TotalSeconds - scaleSeconds[^1];
            scaleStart = clock.Elapsed;
        });

        var decodeStart = clock.Elapsed;
        using var all = NewDisposeScope();
        var decoded = sampler.Vae.FhatToImg(result.FHat);
        var pngs = new (byte[] grid, byte[][] images)[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            if (!batch[i].IsLive) continue;
            var images = decoded.narrow(0, offsets[i], offsets[i + 1] - offsets[i]);
            pngs[i] = (GridPng(images), Enumerable.Range(0, (int)images.shape[0]).Select(b => ImageFiles.EncodePng(images[b])).ToArray());
        }
        double decodeSeconds = (clock.Elapsed - decodeStart).TotalSeconds, total = clock.Elapsed.TotalSeconds;
        double memory = ProcessMemory.CurrentMb, peak = ProcessMemory.PeakMb;
        for (int i = 0; i < batch.Count; i++)
        {
            if (!batch[i].IsLive) continue;
            int b0 = offsets[i], n = offsets[i + 1] - b0;
            batch[i].Complete(new GenerationResult(
                result.Classes[b0..(b0 + n)], batch[i].Request.Seed, pngs[i].grid, pngs[i].images,
                Enumerable.Range(b0, n).Select(result.TokensOf).ToArray(), queueSeconds[i], scaleSeconds.ToArray(),
                previewSeconds, decodeSeconds, total, batch.Count, offsets[^1], memory, peak));
        }
    }

    /// <summary>A batch (B, C, H, W) in [-1, 1] as one PNG grid (up to 8 per row; a single image without a border).</summary>
    static byte[] GridPng(Tensor images)
    {
        int n = (int)images.shape[0];
        using var grid = ImageFiles.MakeGrid(ImageFiles.Unbatch(images), columns: Math.Min(8, n), padding: n == 1 ? 0 : 2);
        return ImageFiles.EncodePng(grid);
    }
}
