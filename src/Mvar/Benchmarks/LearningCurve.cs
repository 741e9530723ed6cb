using System.Globalization;
using System.Text;
using Mvar.Config;
using Mvar.Metrics;
using Mvar.Tokenizer;
using Mvar.Training;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Benchmarks;

/// <summary>A weight snapshot of a run (<c>--snapshot-every</c>) and the run's training clocks when it was taken.</summary>
public sealed record Snapshot(long Step, double WallSeconds, double CpuSeconds, string Path);

/// <summary>One point of a learning curve: a snapshot's sample quality against its training cost.</summary>
public sealed record CurvePoint(string Run, string Arch, long Step, double WallSeconds, double CpuSeconds,
    double Fid, double IsMean, double Precision, double Recall, double? ClassAccuracy);

/// <summary>
/// Sample quality along training: every snapshot of a transformer run scored as <c>mvar compare</c> scores a model
/// (the same classes and seeds for every snapshot), against the wall-clock and CPU seconds the run had spent.
/// </summary>
public static class LearningCurve
{
    /// <summary>RUN/snapshots/snapshots.csv: the list of a run's snapshots, missing when the run kept none.</summary>
    public static string SnapshotList(string runDir) => Path.Combine(runDir, Trainer.SnapshotDir, TrainingRun.SnapshotsFile);

    /// <summary>The snapshots listed in RUN/snapshots/snapshots.csv, in step order (a step logged twice: its last row).</summary>
    public static List<Snapshot> Snapshots(string runDir)
    {
        string csv = SnapshotList(runDir);
        if (!File.Exists(csv))
            throw new
                MvarException($"{runDir} has no {Trainer.SnapshotDir}/{TrainingRun.SnapshotsFile}: the run was trained without weight snapshots "
                + $"(RunOptions.SnapshotEvery)");
        var wall = CsvLog.ReadColumn(csv, "wall_s");
        var cpu = CsvLog.ReadColumn(csv, "cpu_s").ToDictionary(r => r.step, r => r.value);
        var (wall0, cpu0, _) = StartingClock(runDir);
        var list = wall.OrderBy(r => r.step)
            .Select(r => new Snapshot(r.step, wall0 + r.value, cpu0 + cpu.GetValueOrDefault(r.step, double.NaN), Path.Combine(runDir, Trainer.SnapshotDir,
                Trainer.SnapshotFile(r.step))))
            .ToList();
        if (list.Count == 0) throw new MvarException($"{csv} lists no snapshots");
        foreach (var s in list)
            if (!File.Exists(s.Path)) throw new MvarException($"{csv} lists step {s.Step} but {s.Path} is missing");
        return list;
    }

    /// <summary>
    /// What the run's starting weights cost: when it was initialised (<c>--init-from</c>) with the final weights of
    /// another run folder that completed (model.pth next to a run.json), that run's wall-clock and CPU seconds and its
    /// folder, which <see cref="Snapshots"/> adds to the run's own clocks, so that a fine-tuned model's curve counts its
    /// starting point; (0, 0, null) for a run trained from scratch or from weights of unknown cost.
    /// </summary>
    public static (double WallSeconds, double CpuSeconds, string? Parent) StartingClock(string runDir)
    {
        if (!File.Exists(Path.Combine(runDir, Trainer.CheckpointFile))) return (0, 0, null);
        var (_, info, _) = Trainer.ReadHeader(runDir);
        if (!info.TryGetValue("init_from", out var stored)) return (0, 0, null);
        string init = Path.GetFullPath(Path.Combine(runDir, stored));
        if (!File.Exists(init) && info.TryGetValue("init_from_abs", out var abs)) init = abs;
        string parent = Path.GetDirectoryName(init)!, runJson = Path.Combine(parent, TrainingRun.RunFile);
        if (Path.GetFileName(init) != Trainer.WeightsFile || !File.Exists(runJson)) return (0, 0, null);
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(runJson));
            var root = doc.RootElement;
            return (root.GetProperty("wall_seconds").GetDouble(), root.GetProperty("cpu_seconds").GetDouble(), parent);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new MvarException($"{runJson}: not a run summary (wall_seconds, cpu_seconds): {e.Message}");
        }
    }

    /// <summary>The run's model configuration (RUN/config.json, written when the run started).</summary>
    public static ModelConfig ConfigOf(string runDir)
    {
        string path = Path.Combine(runDir, "config.json");
        if (!File.Exists(path)) throw new MvarException($"{runDir} is not a training run folder: {path} not found");
        var config = ModelConfig.Load(path);
        if (config.Transformer is null) throw new MvarException($"{path} has no transformer section: not a transformer run");
        return config;
    }

    /// <summary>
    /// Scores the <paramref name="snapshots"/> of one run (<see cref="Snapshots"/>, with the run's <see cref="ConfigOf"/>);
    /// <paramref name="progress"/> hears of each point as it is done.
    /// </summary>
    public static List<CurvePoint> Score(string name, ModelConfig config, IReadOnlyList<Snapshot> snapshots, VqVae vae, IFeatureNetwork net,
        Tensor realFeatures_ND, ComparisonOptions options, Action<CurvePoint, int, int>? progress = null)
    {
        var points = new List<CurvePoint>();
        foreach (var s in snapshots)
        {
            using var model = ScaleTransformer.Load(config, s.Path);
            var runs = ModelComparison.Run([(name, model)], vae, net, realFeatures_ND, options with { KeepImages = false, Progress = null });
            using var run = runs[0];
            var f = run.Figures;
            var point = new CurvePoint(name, config.Transformer!.Arch.Name(), s.Step, s.WallSeconds, s.CpuSeconds, f.Fid, f.IsMean, f.Precision, f.Recall,
                f.ClassAccuracy);
            points.Add(point);
            progress?.Invoke(point, points.Count, snapshots.Count);
        }
        return points;
    }

    /// <summary>The points of a curve.csv written by <see cref="Csv"/>.</summary>
    public static List<CurvePoint> ReadCsv(string path)
    {
        if (!File.Exists(path)) throw new MvarException($"{path} not found");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != CsvHeader) throw new MvarException($"{path} is not a curve.csv (expected the header {CsvHeader})");
        static double D(string x) => x.Length == 0 ? double.NaN : double.Parse(x, CultureInfo.InvariantCulture);
        var points = new List<CurvePoint>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = lines[i].Split(',');
            if (f.Length != 10) throw new MvarException($"{path}:{i + 1}: expected 10 fields, got {f.Length}");
            try
            {
                points.Add(new CurvePoint(f[0], f[1], long.Parse(f[2], CultureInfo.InvariantCulture), D(f[3]), D(f[4]), D(f[5]), D(f[6]), D(f[7]), D(f[8]),
                    f[9].Length == 0 ? null : D(f[9])));
            }
            catch (FormatException) { throw new MvarException($"{path}:{i + 1}: not a number in \"{lines[i]}\""); }
        }
        return points;
    }

    const string CsvHeader = "run,arch,step,wall_s,cpu_s,fid,is,precision,recall,class_accuracy";

    public static string Csv(IEnumerable<CurvePoint> points)
    {
        static string F(double x) => double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : "";
        var sb = new StringBuilder(CsvHeader + "\n");
        foreach (var p in points)
            sb.Append(CultureInfo.InvariantCulture,
                $"{p.Run},{p.Arch},{p.Step},{F(p.WallSeconds)},{F(p.CpuSeconds)},{F(p.Fid)},{F(p.IsMean)},{F(p.Precision)},{F(p.Recall)},"
                + $"{(p.ClassAccuracy is double a ? F(a) : "")}\n");
        return sb.ToString();
    }
}
