using System.CommandLine;
using System.Globalization;
using Mvar.Analysis;
using Mvar.IO;
using Mvar.Sampling;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar analyze attention</c>: where a trained model's attention mass goes (the measurements motivating MVAR).</summary>
public static class AnalyzeCommand
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp"];

    public static Command Create()
    {
        var analyze = new Command("analyze", "Analyses of trained models");
        analyze.Subcommands.Add(CreateAttention());
        return analyze;
    }

    static Command CreateAttention()
    {
        var models = new ModelOptions();
        var images = new Option<string?>("--images")
        {
            Description =
            "a folder of images (PNG/JPEG) to tokenize and analyse (with the unconditional class row)"
        };
        var samples = new Option<int?>("--samples") { Description = "generate N samples (random classes) with the model and analyse their tokens" };
        var sampling = new SamplingOptionSet("seed of the generated samples (batch i: seed + its first sample's index)", randomSeed: false);
        var batch = new Option<int>("--batch") { Description = "images per teacher-forced forward", DefaultValueFactory = _ => 4 };
        var output = new Option<string>("--out")
        {
            Description =
            "output folder (created if missing): attention.json, scale_mass.png, window_mass.png, adjacent_window.png (VAR), own_window.png, "
            + "blocks/scale_mass_blockN.png", Required = true
        };
        var cmd = new Command("attention", "Attention mass per source scale and within k x k neighbourhoods (VAR), or within-scale neighbourhood mass (MVAR)")
        {
            images, samples, batch, output,
        };
        sampling.AddTo(cmd);
        models.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            var modelConfig = models.ResolveConfig(p);
            var tc = modelConfig.Tokenizer;
            string? dir = p.GetValue(images);
            int? n = p.GetValue(samples);
            if ((dir == null) == (n == null)) throw new MvarException("give exactly one of --images DIR or --samples N");
            if (n is < 1) throw new MvarException($"--samples must be at least 1, got {n}");
            int bs = p.GetValue(batch);
            if (bs < 1) throw new MvarException($"--batch must be at least 1, got {bs}");
            SamplingMemory.Require(modelConfig, bs, "--batch");
            var options = sampling.From(p, tc.VocabSize);
            string[] files = [];
            if (dir != null)
            {
                if (!Directory.Exists(dir)) throw new MvarException($"image folder not found: {dir}");
                files = Directory.GetFiles(dir).Where(f
                    => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();
                if (files.Length == 0) throw new MvarException($"no PNG/JPEG images in {dir}");
            }
            string outDir = p.GetValue(output)!;
            if (File.Exists(outDir)) throw new MvarException($"--out {outDir} is a file, not a folder");
            string parent = Path.GetDirectoryName(Path.GetFullPath(outDir))!;
            if (!Directory.Exists(parent)) throw new MvarException($"cannot write {outDir}: the directory {parent} does not exist");

            using var _ = no_grad();
            var (tokenizer, transformer) = models.Load(p, modelConfig);
            using var _t = tokenizer;
            using var _m = transformer;
            var stats = new AttentionStatistics(transformer.Layout, transformer.Depth);
            if (dir != null)
            {
                // read (and so check) every image before the long work
                var loaded = files.Select(f => ImageFiles.Load(f, tc.ImageSize, tc.InChannels)).ToList();
                for (int i = 0; i < loaded.Count; i += bs)
                {
                    using var scope = NewDisposeScope();
                    var img = cat(loaded.Skip(i).Take(bs).ToArray(), 0);
                    var tokens = tokenizer.ImgToIdxBl(img);
                    AttentionAnalyzer.Accumulate(stats, transformer, tokenizer, tokens, full(img.shape[0], (long)transformer.NumClasses,
                        dtype: ScalarType.Int64));
                    Console.Error.WriteLine($"analysed {Math.Min(i + bs, loaded.Count)}/{loaded.Count} images");
                }
                foreach (var t in loaded) t.Dispose();
            }
            else
            {
                var sampler = new ScaleSampler(transformer, tokenizer);
                for (int i = 0; i < n!.Value; i += bs)
                {
                    using var scope = NewDisposeScope();
                    int m = Math.Min(bs, n.Value - i);
                    using var result = sampler.Sample(null, m, options with { Seed = options.Seed + (ulong)i });
                    AttentionAnalyzer.Accumulate(stats, transformer, tokenizer, result.Tokens, tensor(result.Classes));
                    Console.Error.WriteLine($"analysed {i + m}/{n} samples");
                }
            }
            var report = AttentionAnalyzer.Report(stats, transformer);
            Directory.CreateDirectory(Path.Combine(outDir, "blocks"));
            report.Save(Path.Combine(outDir, "attention.json"));
            AttentionPlots.ScaleMassHeatmap(report, report.ScaleMass, Path.Combine(outDir, "scale_mass.png"), "averaged over blocks");
            for (int b = 0; b < report.Depth; b++)
                AttentionPlots.ScaleMassHeatmap(report, report.ScaleMassPerBlock[b], Path.Combine(outDir, "blocks", $"scale_mass_block{b}.png"), $"block {b}");
            AttentionPlots.WindowCurve(report, Path.Combine(outDir, "window_mass.png"));
            if (report.AttendsEarlierScales)
                AttentionPlots.WindowHeatmap(report, report.AdjacentWindowFraction, "mass on scale s-1 within k x k of the corresponding position",
                    Path.Combine(outDir, "adjacent_window.png"));
            AttentionPlots.WindowHeatmap(report, report.OwnWindowFraction, "own-scale mass within k x k of the query", Path.Combine(outDir, "own_window.png"));
            Console.Error.WriteLine($"wrote {outDir}: attention.json, scale_mass.png, window_mass.png, "
                + $"{(report.AttendsEarlierScales ? "adjacent_window.png, " : "")}own_window.png, blocks/ ({report.Images} "
                + $"{(dir != null ? "images" : "samples")}, {report.Arch})");
            Console.Out.WriteLine(Summary(report));
            return 0;
        });
    }

    static string Summary(AttentionReport r)
    {
        string Curve(double?[] c) => string.Join(", ", r.Kernels.Select((k,
            i) => $"{k}: {(c[i] is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "-")}"));
        var lines = new List<string>();
        if (r.AttendsEarlierScales)
        {
            var adj = Enumerable.Range(1, r.PatchNums.Length - 1).Select(s => r.ScaleMass[s][s - 1]).Where(v => v != null).Select(v => v!.Value).ToList();
            if (adj.Count > 0) lines.Add($"mean share of the attention on the adjacent coarser scale: {adj.Average():F3}");
            lines.Add($"adjacent-scale mass within k x k of the corresponding position: {Curve(r.AdjacentWindowCurve)}");
        }
        lines.Add($"own-scale mass within k x k of the query (scales {r.CurveFromScale}+): {Curve(r.OwnWindowCurve)}"
            + (r.KernelSize is { } ks ? $"; kernel_size {ks}" : ""));
        return string.Join(Environment.NewLine, lines);
    }
}
