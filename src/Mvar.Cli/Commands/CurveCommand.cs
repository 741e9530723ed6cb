using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mvar.Benchmarks;
using Mvar.Config;
using Mvar.IO;
using Mvar.Metrics;
using Mvar.Tokenizer;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// <c>mvar curve</c>: learning curves. Every weight snapshot of one or more transformer runs (trained with
/// <c>--snapshot-every</c>) is sampled with the same classes and seeds and scored as <c>mvar compare</c> scores a
/// model; curve.csv holds FID, IS, precision, recall and class accuracy against the step and the run's training
/// wall-clock and CPU seconds, curve.png draws FID against training wall-clock minutes, one line per run.
/// </summary>
public static partial class CurveCommand
{
    [GeneratedRegex("^[A-Za-z0-9_.+-]{1,40}$")]
    private static partial Regex RunName();

    public static Command Create()
    {
        var run = new Option<string[]>("--run")
        {
            Description =
            "NAME=RUN_FOLDER, repeated: a transformer run trained with --snapshot-every (its config.json and snapshots/)",
            AllowMultipleArgumentsPerToken = false
        };
        var fromCsv = new Option<string?>("--from-csv") { Description = "draw curve.png again from a curve.csv (no sampling) instead of --run" };
        var vae = new Option<string?>("--vae") { Description = "the runs' tokenizer checkpoint (default: the shipped fashion-mnist tokenizer)" };
        var data = new Option<string>("--data")
        {
            Description = "the reference images: fashion-mnist:t10k, an .npz or a folder (as eval's --reference)",
            DefaultValueFactory = _ => "fashion-mnist:t10k"
        };
        var count = new Option<int>("--count") { Description = "images per snapshot, the classes balanced", DefaultValueFactory = _ => 2000 };
        var output = new Option<string>("--out") { Description = "folder for curve.csv and curve.png", Required = true };
        var shared = new ScoredSamplingOptions();
        var cmd = new Command("curve",
            "learning curves: FID, IS, precision, recall and class accuracy of every snapshot of transformer runs against their training wall-clock")
        {
            run, fromCsv, vae, data, count, output,
        };
        shared.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            if (p.GetValue(fromCsv) is string csvPath)
            {
                if (p.GetValue(run) is { Length: > 0 }) throw new MvarException("give either --run or --from-csv, not both");
                var read = LearningCurve.ReadCsv(csvPath);
                if (read.Count == 0) throw new MvarException($"{csvPath} holds no points");
                string png = Path.Combine(CompareCommand.PrepareOutput(p.GetValue(output)!), "curve.png");
                Plot(read, p.GetValue(count), png);
                Console.Error.WriteLine($"wrote {png} from {read.Count} points of {csvPath}");
                return 0;
            }
            if (p.GetValue(run) is not { Length: > 0 } runSpecs) throw new MvarException("give --run NAME=RUN_FOLDER (repeated) or --from-csv curve.csv");
            var runs = ParseRuns(runSpecs);
            var configs = runs.Select(r => (r.Name, r.Dir, Config: LearningCurve.ConfigOf(r.Dir), Snapshots: SnapshotsOf(r.Dir))).ToList();
            foreach (var r in runs)
                if (LearningCurve.StartingClock(r.Dir) is { Parent: string parent } start)
                    Console.Error.WriteLine($"note: {r.Name} started from the final weights of {parent}: its clocks include that run's "
                        + $"{start.WallSeconds:F0} s ({start.CpuSeconds:F0} CPU-s)");
            var tok = configs[0].Config.Tokenizer;
            foreach (var c in configs.Skip(1))
                if (c.Config.Tokenizer.VocabSize != tok.VocabSize || !c.Config.Tokenizer.PatchNums.SequenceEqual(tok.PatchNums))
                    throw new MvarException($"run {c.Name} has another tokenizer configuration than run {configs[0].Name}: one curve needs one tokenizer");
            int numClasses = configs[0].Config.Transformer!.NumClasses;
            int n = p.GetValue(count);
            if (n < 1) throw new MvarException($"--count must be at least 1, got {n}");
            int batchSize = shared.BatchOf(p);
            var sampling = shared.SamplingOf(p, tok.VocabSize);
            string vaePath = p.GetValue(vae) ?? ShippedModel.Of("fashion-mnist")?.TokenizerPath
                ?? throw new MvarException("give --vae: the shipped fashion-mnist tokenizer was not found");
            string outDir = CompareCommand.PrepareOutput(p.GetValue(output)!);
            string reference = p.GetValue(data)!;

            var total = Stopwatch.StartNew();
            using var _ = no_grad();
            using var net = FashionClassifier.Load(p.GetValue(shared.Classifier));
            if (n <= net.FeatureDim) throw new
                MvarException($"--count {n} is too few for FID with {net.FeatureDim}-dimensional features: at least {net.FeatureDim + 1}");
            using var tokenizer = VqVaeLoader.Load(tok, vaePath);
            var (real, cached) = SampleEvaluation.ReferenceFeatures(net, reference, p.GetValue(shared.CacheDir), msg => Console.Error.Write($"\r{msg}   "));
            using var _r = real;
            if (!cached) Console.Error.WriteLine();
            int? scoreSide = configs[0].Config.Training?.SmallImages == "pad" ? CompareCommand.ScoreSide(reference, tok.ImageSize) : null;
            var options = new ComparisonOptions
            {
                Classes = ModelComparison.BalancedClasses(n, numClasses), Batch = batchSize, Sampling = sampling, GridPerClass = 1, ScoreSide = scoreSide,
            };
            int all = configs.Sum(c => c.Snapshots.Count), done = 0;
            Console.Error.WriteLine($"{configs.Count} run(s), {all} snapshots, {n} images each; reference {real.shape[0]} images");
            var points = new List<CurvePoint>();
            foreach (var c in configs)
                points.AddRange(LearningCurve.Score(c.Name, c.Config, c.Snapshots, tokenizer, net, real, options, (pt, _, _) =>
                {
                    done++;
                    double eta = total.Elapsed.TotalSeconds / done * (all - done);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{done}/{all}] {pt.Run} step {pt.Step} ({pt.WallSeconds / 60:F1} training min): FID {pt.Fid:F2}, IS {pt.IsMean:F2}, recall "
                            + $"{pt.Recall:F3}{(pt.ClassAccuracy is double a ? $", class accuracy {100 * a:F1} %" : "")}; ETA {Cli.Clock(eta)}"));
                }));
            AtomicFile.WriteAllText(Path.Combine(outDir, "curve.csv"), LearningCurve.Csv(points));
            Plot(points, n, Path.Combine(outDir, "curve.png"));
            Console.Error.WriteLine($"wrote curve.csv and curve.png in {outDir} ({total.Elapsed.TotalSeconds:F0} s)");
            return 0;
        });
    }

    static List<(string Name, string Dir)> ParseRuns(string[] specs)
    {
        var runs = new List<(string, string)>();
        foreach (var spec in specs)
        {
            int eq = spec.IndexOf('=');
            if (eq <= 0 || eq == spec.Length - 1) throw new MvarException($"--run {spec}: expected NAME=RUN_FOLDER");
            string name = spec[..eq], dir = spec[(eq + 1)..];
            if (!RunName().IsMatch(name)) throw new MvarException($"--run {spec}: the name may hold 1 to 40 letters, digits and _ . + - only");
            if (runs.Any(r => r.Item1 == name)) throw new MvarException($"--run {name} is given twice");
            if (!Directory.Exists(dir)) throw new MvarException($"--run {spec}: no folder {dir}");
            runs.Add((name, dir));
        }
        return runs;
    }

    /// <summary>The run's snapshots (<see cref="LearningCurve.Snapshots"/>); a run that kept none is told the option that keeps them.</summary>
    static List<Snapshot> SnapshotsOf(string dir) => File.Exists(LearningCurve.SnapshotList(dir)) ? LearningCurve.Snapshots(dir)
        : throw new MvarException($"{dir} holds no weight snapshots ({LearningCurve.SnapshotList(dir)} not found): train it with --snapshot-every N");

    static void Plot(List<CurvePoint> points, int count, string png)
    {
        var plot = new ScottPlot.Plot();
        foreach (var g in points.GroupBy(pt => pt.Run))
        {
            var pts = g.OrderBy(pt => pt.Step).ToList();
            var sc = plot.Add.Scatter(pts.Select(pt => pt.WallSeconds / 60).ToArray(), pts.Select(pt => pt.Fid).ToArray());
            sc.LegendText = $"{g.Key} ({pts[0].Arch}, {pts[^1].Step} steps)";
            sc.MarkerSize = 6;
        }
        plot.XLabel("training wall-clock (minutes)");
        plot.YLabel($"FID of {count} samples (lower is better)");
        // the first snapshots' FIDs are many times the last ones': the axis stops at 4x the best, where the runs differ
        var fids = points.Select(pt => pt.Fid).Where(double.IsFinite).ToList();
        if (fids.Count > 0 && fids.Max() > 4 * fids.Min())
        {
            plot.Axes.SetLimitsY(0, 4 * fids.Min());
            plot.Title($"points above FID {4 * fids.Min():F0} are off the chart (curve.csv has them)");
        }
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);   // the curves fall to the lower right
        AtomicFile.WriteAllBytes(png, plot.GetImageBytes(900, 550, ScottPlot.ImageFormat.Png));
    }
}
