using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Mvar.Benchmarks;
using Mvar.Config;
using Mvar.Diagnostics;
using Mvar.IO;
using Mvar.Kernels;
using Mvar.Metrics;
using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Transformer;
using Spectre.Console;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// <c>mvar compare</c>: VAR against MVAR on one tokenizer: the same classes, settings and seeds; image quality
/// (FID, IS, precision, recall against a reference set) and cost (seconds, memory, KV cache, FLOPs, parameters).
/// </summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var preset = new Option<string?>("--preset")
        {
            Description =
            $"a shipped model ({string.Join(", ", ShippedModel.Names)}: config, tokenizer, var and mvar weights) or a built-in configuration"
        };
        var config = new Option<string?>("--config")
        {
            Description =
            "model configuration JSON instead of --preset (its transformer section serves both models, the arch overridden)"
        };
        var vae = new Option<string?>("--vae") { Description = "tokenizer checkpoint (default with a shipped --preset: its tokenizer)" };
        var var = new Option<string?>("--var") { Description = "VAR transformer checkpoint (default with a shipped --preset: its var weights)" };
        var mvar = new Option<string?>("--mvar") { Description = "MVAR transformer checkpoint (default with a shipped --preset: its mvar weights)" };
        var data = new Option<string>("--data")
        {
            Description = "the reference images: fashion-mnist:t10k, an .npz or a folder (as eval's --reference)",
            DefaultValueFactory = _ => "fashion-mnist:t10k"
        };
        var perClass = new Option<int?>("--per-class") { Description = "images per class and model (default 1000)" };
        var count = new Option<int?>("--count") { Description = "images per model, the classes balanced (instead of --per-class)" };
        var grid = new Option<int>("--grid") { Description = "samples per class in compare.png", DefaultValueFactory = _ => 4 };
        var npz = new Option<bool>("--npz") { Description = "also write var.npz and mvar.npz (arr_0: uint8 N x H x W x 3, as sample --npz)" };
        var output = new Option<string>("--out") { Description = "folder for compare.md, compare.json, compare.png", Required = true };
        var gemm = BenchCommand.GemmOption();
        var shared = new ScoredSamplingOptions();
        var cmd = new Command("compare", "VAR against MVAR: the same classes and seeds; FID, IS, precision, recall, time, memory, KV cache, FLOPs, parameters")
        {
            preset, config, vae, var, mvar, data, perClass, count, grid, npz, output, gemm,
        };
        shared.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            var varConfig = ModelOptions.ResolveConfig(p.GetValue(config), p.GetValue(preset), Architecture.Var);
            var mvarConfig = ModelOptions.ResolveConfig(p.GetValue(config), p.GetValue(preset), Architecture.Mvar);
            var files = ResolveFiles(p.GetValue(preset), p.GetValue(vae), p.GetValue(var), p.GetValue(mvar));
            foreach (var (what, path) in new[] { ("tokenizer", files.vae), ("VAR", files.var), ("MVAR", files.mvar) })
                if (!File.Exists(path)) throw new CheckpointException($"{what} checkpoint not found: {path}");
            int numClasses = varConfig.Transformer!.NumClasses;
            int n = ImageCount(p.GetValue(perClass), p.GetValue(count), numClasses);
            int batchSize = shared.BatchOf(p);
            SamplingMemory.Require(varConfig, batchSize, "--batch");
            if (p.GetValue(grid) < 1) throw new MvarException($"--grid must be at least 1, got {p.GetValue(grid)}");
            var sampling = shared.SamplingOf(p, varConfig.Tokenizer.VocabSize);
            string outDir = PrepareOutput(p.GetValue(output)!);
            string reference = p.GetValue(data)!;
            var kernel = GemmKernels.Parse(p.GetValue(gemm)!);

            var total = Stopwatch.StartNew();
            using var _ = no_grad();
            using var net = FashionClassifier.Load(p.GetValue(shared.Classifier));
            if (n <= net.FeatureDim)
                throw new
                    MvarException($"{n} images per model are too few for FID: the {net.FeatureDim}-dimensional features need at least "
                    + $"{net.FeatureDim + 1} (--per-class {(net.FeatureDim + numClasses) / numClasses} or --count {net.FeatureDim + 1})");
            using var tokenizer = VqVaeLoader.Load(varConfig.Tokenizer, files.vae);
            using var varModel = ScaleTransformer.Load(varConfig, files.var);
            using var mvarModel = ScaleTransformer.Load(mvarConfig, files.mvar);
            if (kernel != GemmKernel.Mkl) foreach (var m in new[] { varModel, mvarModel }) m.UseGemm(kernel, inferenceOnly: true);
            var (real, cached) = SampleEvaluation.ReferenceFeatures(net, reference, p.GetValue(shared.CacheDir), msg => Console.Error.Write($"\r{msg}   "));
            using var _r = real;
            if (!cached) Console.Error.WriteLine();
            using (NewDisposeScope()) FeatureStatistics.Of(real, "the reference set");   // fails here, before sampling, when the set is too small

            Console.Error.WriteLine($"loaded VAR and MVAR (depth {varConfig.Transformer.Depth}) and the tokenizer; {n} images per model in batches of "
                + $"{batchSize}; reference {real.shape[0]} images{(cached ? " (cached features)" : "")}");

            int? scoreSide = varConfig.Training?.SmallImages == "pad" ? ScoreSide(reference, varConfig.Tokenizer.ImageSize) : null;
            if (scoreSide != null)
                Console.Error.WriteLine($"the samples ({varConfig.Tokenizer.ImageSize}x{varConfig.Tokenizer.ImageSize}) are centre-cropped to the "
                    + $"reference's {scoreSide}x{scoreSide} for scoring (the training data was padded)");
            var done = new Dictionary<string, int>();   // images sampled per model; the display counts both models'
            var runs = ProgressDisplay.Run("sampled (VAR, MVAR)", "images", 2L * n, plainEvery: 500, d =>
                ModelComparison.Run([("VAR", varModel), ("MVAR", mvarModel)], tokenizer, net, real, new ComparisonOptions
                {
                    Classes = ModelComparison.BalancedClasses(n, numClasses), Batch = batchSize, Sampling = sampling,
                    GridPerClass = p.GetValue(grid), KeepImages = p.GetValue(npz), ScoreSide = scoreSide,
                    Progress = x => { done[x.Model] = x.Done; d.Report(new WorkProgress(done.Values.Sum(), 2L * n)); },
                }));
            try
            {
                var report = new ComparisonReport
                {
                    Command = Cli.CommandLine(), Machine = MachineInfo.CpuModel(), Threads = get_num_threads(),
                    Reference = reference, ReferenceImages = real.shape[0], Features = net.Name,
                    Gemm = kernel.Name(), Cfg = sampling.Cfg, TopK = sampling.TopK, TopP = sampling.TopP, Seed = sampling.Seed ?? 0, Batch = batchSize,
                    ImagesPerModel = n, Classes = numClasses, ImageSize = varConfig.Tokenizer.ImageSize,
                    ScoredSide = scoreSide ?? varConfig.Tokenizer.ImageSize, Seconds = total.Elapsed.TotalSeconds,
                    Models = runs.Select(r => r.Figures).ToArray(),
                };
                var rows = Rows(report.Models);
                AtomicFile.WriteAllText(Path.Combine(outDir, "compare.json"), report.ToJson());
                AtomicFile.WriteAllText(Path.Combine(outDir, "compare.md"), Markdown(report, rows));
                ComparePlots.Write(runs, Enumerable.Range(0, numClasses).Select(c => varConfig.Transformer.ClassName(c)).ToArray(), Path.Combine(outDir,
                    "compare.png"));
                if (p.GetValue(npz))
                    foreach (var r in runs)
                        Npz.Save(Path.Combine(outDir, $"{r.Figures.Arch}.npz"), new Dictionary<string, Tensor> { ["arr_0"] = r.Images! });
                Print(report, rows);
                Console.Error.WriteLine($"wrote compare.md, compare.json, compare.png{(p.GetValue(npz) ? ", var.npz, mvar.npz" : "")} in {outDir} "
                    + $"({total.Elapsed.TotalSeconds:F0} s)");
            }
            finally { foreach (var r in runs) r.Dispose(); }
            return 0;
        });
    }

    /// <summary>
    /// The checkpoint paths: --vae, --var and --mvar, each defaulting to the shipped --preset's file (as ModelOptions
    /// does for sample).
    /// </summary>
    static (string vae, string var, string mvar) ResolveFiles(string? preset, string? vae, string? var, string? mvar)
    {
        var shipped = ShippedModel.Of(preset);
        var missing = new[] { ("--vae", vae), ("--var", var), ("--mvar", mvar) }.Where(g => g.Item2 == null).Select(g => g.Item1).ToList();
        if (shipped == null && missing.Count > 0)
            throw new MvarException($"give --preset {string.Join("|", ShippedModel.Names)} or the checkpoints (missing: {string.Join(", ", missing)})");
        return (vae ?? shipped!.TokenizerPath, var ?? shipped!.TransformerPath(Architecture.Var), mvar ?? shipped!.TransformerPath(Architecture.Mvar));
    }

    /// <summary>
    /// For a model trained on padded small images (training.small_images "pad", e.g. Fashion-MNIST 28x28 centred in
    /// 32x32): the reference images' side when they are smaller than the samples by an even margin; the samples are
    /// then centre-cropped to it for scoring, so both sets reach the feature network framed alike. Null otherwise.
    /// </summary>
    internal static int? ScoreSide(string reference, int imageSize)
    {
        using var scope = NewDisposeScope();
        var first = ImageSets.Batches(reference, 1).First();
        int h = (int)first.shape[2], w = (int)first.shape[3];
        return h == w && h < imageSize && (imageSize - h) % 2 == 0 ? h : null;
    }

    static int ImageCount(int? perClass, int? count, int numClasses)
    {
        if (perClass != null && count != null) throw new MvarException("give either --per-class or --count, not both");
        if (perClass is < 1) throw new MvarException($"--per-class must be at least 1, got {perClass}");
        if (count is < 1) throw new MvarException($"--count must be at least 1, got {count}");
        return count ?? (perClass ?? 1000) * numClasses;
    }

    /// <summary>Creates the output folder and checks that a file can be written there.</summary>
    internal static string PrepareOutput(string dir)
    {
        if (File.Exists(dir)) throw new MvarException($"--out {dir} is a file, not a folder");
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".mvar-write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MvarException($"cannot write into --out {dir}: {e.Message}");
        }
        return dir;
    }

    /// <summary>The table's rows: a label and one formatted value per model.</summary>
    static List<(string Label, string[] Values)> Rows(IReadOnlyList<ModelFigures> m)
    {
        static string F(double x, string fmt) => double.IsFinite(x) ? x.ToString(fmt, CultureInfo.InvariantCulture) : "-";
        var rows = new List<(string, string[])>();
        void Row(string label, Func<ModelFigures, string> f) => rows.Add((label, m.Select(f).ToArray()));
        Row("FID (lower is better)", x => F(x.Fid, "F2"));
        Row("Inception Score", x => $"{F(x.IsMean, "F3")} ± {F(x.IsStd, "F3")}");
        Row("precision", x => F(x.Precision, "F4"));
        Row("recall", x => F(x.Recall, "F4"));
        if (m.Any(x => x.ClassAccuracy is not null))
            Row("class accuracy (samples classified as their class)", x => x.ClassAccuracy is double a ? $"{100 * a:F1} %" : "-");
        Row("seconds per image (transformer + decode)",
            x => $"{F(x.SecondsPerImage, "F4")} ({F(x.TransformerSecondsPerImage, "F4")} + {F(x.DecodeSecondsPerImage, "F4")})");
        Row("peak memory above weights (MB)", x => F(x.PeakAboveWeightsMb, "F0"));
        Row("KV cache per image (MB)", x => F(x.KvCacheBytesPerImage / 1048576.0, "F3"));
        Row("GFLOP per image (transformer)", x => F(x.GflopsPerImage, "F3"));
        Row("parameters", x => x.Parameters.ToString("N0", CultureInfo.InvariantCulture));
        return rows;
    }

    static string Markdown(ComparisonReport r, List<(string Label, string[] Values)> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# VAR vs MVAR: {r.ImagesPerModel} images per model").AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"| | {string.Join(" | ", r.Models.Select(m => $"{m.Name} (depth {m.Depth})"))} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"|---|{string.Join("|", r.Models.Select(_ => "---:"))}|");
        foreach (var (label, values) in rows) sb.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {string.Join(" | ", values)} |");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Sampling: cfg {r.Cfg.ToString(CultureInfo.InvariantCulture)}, top-k {r.TopK}, top-p {r.TopP.ToString(CultureInfo.InvariantCulture)}, seed "
            + $"{r.Seed} (batch i: seed + i), batch {r.Batch}, {r.Classes} classes balanced; both models got the same classes and seeds and took turns "
            + $"batch by batch.");
        string cropped = r.ScoredSide < r.ImageSize
            ? $", the {r.ImageSize}x{r.ImageSize} samples centre-cropped to the reference's {r.ScoredSide}x{r.ScoredSide} (the training data was padded)"
            : "";
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Metrics: features of {r.Features} against {r.ReferenceImages} reference images "
            + $"({r.Reference}){cropped}; KV cache measured at batch {r.Batch}; FLOPs analytic (matmuls only); "
            + $"memory: peak resident size during sampling above that before it (first two batches).");
        sb.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Command: `{r.Command}`").AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {r.Machine}; {r.Threads} torch threads; {r.Gemm} GEMM; total {r.Seconds:F0} s.");
        return sb.ToString();
    }

    static void Print(ComparisonReport r, List<(string Label, string[] Values)> rows)
    {
        var table = new Table().Title($"VAR vs MVAR, {r.ImagesPerModel} images each").AddColumn("");
        foreach (var m in r.Models) table.AddColumn(new TableColumn($"{m.Name} (depth {m.Depth})").RightAligned());
        foreach (var (label, values) in rows) table.AddRow([Markup.Escape(label), .. values.Select(Markup.Escape)]);
        AnsiConsole.Write(table);
    }
}

/// <summary>compare.json: the settings, the machine, and each model's figures.</summary>
public sealed record ComparisonReport
{
    public string Command { get; init; } = "";
    public string Machine { get; init; } = "";
    public int Threads { get; init; }
    /// <summary>The GEMM kernel of the transformers' per-scale linear layers (mkl, onednn or int8).</summary>
    public string Gemm { get; init; } = "mkl";
    public string Reference { get; init; } = "";
    public long ReferenceImages { get; init; }
    public string Features { get; init; } = "";
    public double Cfg { get; init; }
    public int TopK { get; init; }
    public double TopP { get; init; }
    public ulong Seed { get; init; }
    public int Batch { get; init; }
    public int ImagesPerModel { get; init; }
    public int Classes { get; init; }
    public int ImageSize { get; init; }
    /// <summary>The side the samples were scored at: smaller than <see cref="ImageSize"/> when centre-cropped to the reference's size.</summary>
    public int ScoredSide { get; init; }
    public double Seconds { get; init; }
    public ModelFigures[] Models { get; init; } = [];

    public string ToJson() => ReportJson.Serialize(this);
}
