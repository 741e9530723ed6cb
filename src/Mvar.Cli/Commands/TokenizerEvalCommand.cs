using System.CommandLine;
using System.Globalization;
using Mvar.Data;
using Mvar.IO;
using Mvar.Metrics;
using Spectre.Console;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// <c>mvar eval tokenizer</c>: a tokenizer's reconstructions of a data set measured: PSNR and SSIM against the
/// originals, rFID / IS / precision / recall against a reference set (as <c>mvar eval</c> scores samples), codebook
/// usage and perplexity per scale.
/// </summary>
public static class TokenizerEvalCommand
{
    public static Command Create()
    {
        var tok = new TokenizerOptions();
        var data = new Option<string>("--data")
        {
            Description =
            "the images to reconstruct: fashion-mnist (train split), fashion-mnist:t10k, idx:DIR[:split] or an image folder (one sub-folder per class), "
            + "pre-processed as the model's training data (centre crop; small images padded or resized as the config's training section says)",
            DefaultValueFactory = _ => "fashion-mnist"
        };
        var limit = new Option<int>("--limit") { Description = "reconstruct the first N images", DefaultValueFactory = _ => 10_000 };
        var reference = new Option<string?>("--reference")
        {
            Description =
            "the real images the reconstructions are scored against (rFID, IS, precision, recall): fashion-mnist-test (the default for Fashion-MNIST "
            + "data), an .npz, a folder, or none"
        };
        var batch = new Option<int?>("--batch") { Description = "images per encode/decode call (default about 256k pixels: 250 at 32x32)" };
        var classifier = new Option<string?>("--classifier") { Description = $"weights of the feature network (default: {FashionClassifier.ShippedWeights})" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "where reference features are cached (default ~/.cache/mvar)" };
        var json = new Option<string?>("--json") { Description = "also write the report as JSON" };
        var grid = new Option<string?>("--grid") { Description = "a PNG of the first 16 originals (top row) over their reconstructions" };
        var cmd = new Command("tokenizer",
            "Measure a tokenizer's reconstructions of a data set: PSNR, SSIM, rFID, IS, precision, recall, codebook usage and perplexity per scale")
        {
            data, limit, reference, batch, classifier, cacheDir, json, grid,
        };
        tok.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            var config = tok.ResolveModelConfig(p);
            string spec = p.GetValue(data)!;
            int n = p.GetValue(limit);
            if (n < 1) throw new MvarException($"--limit must be at least 1, got {n}");
            int B = p.GetValue(batch) ?? TokenizerEvaluation.DefaultBatch(config.Tokenizer.ImageSize);
            if (B < 1) throw new MvarException($"--batch must be at least 1, got {B}");
            IImageDataset set = new Subset(DataSets.Open(spec), n);
            if (set.Count == 0) throw new MvarException($"the data set {spec} is empty");
            string? refSpec = p.GetValue(reference) ?? (spec.StartsWith("fashion-mnist", StringComparison.Ordinal) ? "fashion-mnist-test"
                : throw new MvarException($"give --reference (an .npz, a folder, fashion-mnist-test, or none) for the data {spec}"));
            if (refSpec == "none") refSpec = null;
            foreach (var path in new[] { p.GetValue(json), p.GetValue(grid) })
                if (path != null) TokenizerOptions.CheckWritable(path);

            using var vae = tok.Load(p);
            using var net = refSpec != null ? FashionClassifier.Load(p.GetValue(classifier)) : null;
            if (net != null && set.Count <= net.FeatureDim)
                throw new
                    MvarException($"{set.Count} images are too few for rFID: the {net.FeatureDim}-dimensional features need at least {net.FeatureDim + 1} "
                    + $"(--limit {net.FeatureDim + 1}, or --reference none for PSNR, SSIM and codebook usage only)");
            Tensor? real = null;
            if (net != null)
            {
                bool cached;
                (real, cached) = SampleEvaluation.ReferenceFeatures(net, refSpec!, p.GetValue(cacheDir), msg => Console.Error.Write($"\r{msg}   "));
                if (!cached) Console.Error.WriteLine();
                using (NewDisposeScope()) FeatureStatistics.Of(real, "the reference set");   // fails here, before the reconstructions, when it is too small
            }
            using var _real = real;
            Console.Error.WriteLine($"reconstructing {set.Count} images of {spec} ({config.Tokenizer.ImageSize}x{config.Tokenizer.ImageSize}, batches of "
                + $"{B}){(refSpec != null ? $"; reference {refSpec} ({real!.shape[0]} images)" : "")}");
            using var result = ProgressDisplay.Run("reconstructed", "images", set.Count, plainEvery: 1000, d =>
                TokenizerEvaluation.Run(vae, new ImageBatches(set, Preprocess.Of(config)), new TokenizerEvaluationOptions
                {
                    Batch = B, Network = net, ReferenceFeatures_ND = real, Progress = d,
                }));
            string vaePath = ModelOptions.VaePath(p.GetValue(tok.Vae), p.GetValue(tok.Preset));
            var report = result.Report with
            {
                Command = Cli.CommandLine(),
                Preset = p.GetValue(tok.Preset),
                Tokenizer = vaePath,
                TokenizerSha256 = Sha256(vaePath),
                Data = spec,
                Reference = refSpec,
            };
            Print(report);
            if (p.GetValue(json) is string jsonPath) AtomicFile.WriteAllText(jsonPath, report.ToJson());
            if (p.GetValue(grid) is string gridPath)
            {
                int k = (int)result.Originals.shape[0];
                ImageFiles.SaveGrid([.. ImageFiles.Unbatch(result.Originals), .. ImageFiles.Unbatch(result.Reconstructions)], gridPath, columns: k);
            }
            Console.Error.WriteLine($"{report.Images} images in {report.Seconds:F1} "
                + $"s{(p.GetValue(json) != null ? $"; wrote {p.GetValue(json)}" : "")}{(p.GetValue(grid) != null ? $"; wrote {p.GetValue(grid)}" : "")}");
            return 0;
        });
    }

    static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(f))[..16].ToLowerInvariant();
    }

    static string F(double? x, string fmt) => x is double v ? v.ToString(fmt, CultureInfo.InvariantCulture) : "-";

    static void Print(TokenizerReport r)
    {
        var table = new Table().Title(Markup.Escape($"tokenizer {r.TokenizerSha256} on {r.Images} images of {r.Data}")).AddColumns("metric", "value");
        table.AddRow(Markup.Escape("PSNR (dB, [0,1], mean of per-image)"), double.IsPositiveInfinity(r.PsnrDb) ? "inf (all exact)" : F(r.PsnrDb,
            "F2") + (r.PsnrIdenticalImages > 0 ? $" ({r.PsnrIdenticalImages} exact, left out)" : ""));
        table.AddRow("SSIM (11x11 Gaussian, grey/luma)", F(r.Ssim, "F4"));
        if (r.Reference != null)
        {
            table.AddRow("rFID (lower is better)", F(r.Rfid, "F2"));
            table.AddRow("Inception Score", $"{F(r.IsMean, "F3")} ± {F(r.IsStd, "F3")}");
            table.AddRow("precision", F(r.Precision, "F4"));
            table.AddRow("recall", F(r.Recall, "F4"));
            table.AddRow("reference", Markup.Escape($"{r.Reference} ({r.ReferenceImages} images)"));
            table.AddRow("features", Markup.Escape(r.Features ?? ""));
        }
        table.AddRow("time", $"{r.Seconds:F1} s ({r.ImagesPerSecond:F0} images/s)");
        AnsiConsole.Write(table);

        var codes = new Table().Title($"codebook usage ({r.VocabSize} codes)").AddColumns("scale", "tokens", "codes used", "usage %", "perplexity");
        foreach (var c in codes.Columns.Skip(1)) c.RightAligned();
        foreach (var s in r.CodebookPerScale)
            codes.AddRow($"{s.Scale} ({s.Side}x{s.Side})", s.Tokens.ToString(CultureInfo.InvariantCulture),
                s.UsedCodes.ToString(CultureInfo.InvariantCulture), F(s.UsagePercent, "F1"), F(s.Perplexity, "F1"));
        var a = r.CodebookAllScales;
        codes.AddRow("all", a.Tokens.ToString(CultureInfo.InvariantCulture), a.UsedCodes.ToString(CultureInfo.InvariantCulture), F(a.UsagePercent, "F1"),
            F(a.Perplexity, "F1"));
        AnsiConsole.Write(codes);
    }
}
