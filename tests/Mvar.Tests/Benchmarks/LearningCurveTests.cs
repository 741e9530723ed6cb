using Mvar.Benchmarks;
using Mvar.IO;
using Mvar.Sampling;
using Mvar.Training;
using Mvar.Transformer;
using static Mvar.Tests.Training.TrainingFixtures;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Benchmarks;

/// <summary><see cref="LearningCurve"/> on a tiny MVAR run of the parity model with weight snapshots.</summary>
public class LearningCurveTests
{
    /// <summary>A 3-step run (2 samples, batch 2) with snapshots after steps 2 and 3, and its config.json.</summary>
    static string TinyRun()
    {
        var t = Plain() with { Epochs = 3 };
        string dir = Fixtures.TempDir();
        using (var tr = NewTrainer("mvar", t, ParityTokens()))
            Assert.Equal(RunOutcome.Completed, TrainingRun.Run(tr, dir, new RunOptions { SnapshotEvery = 2, TensorBoard = false }));
        AtomicFile.WriteAllText(Path.Combine(dir, "config.json"), Mvar.Tests.Training.TrainingFixtures.Config("mvar", t).ToJson());
        return dir;
    }

    static ComparisonOptions Options => new()
    {
        Classes = ModelComparison.BalancedClasses(10, 10), Batch = 5, GridPerClass = 1,
        Sampling = new SamplingOptions { Cfg = 1.5, TopK = 10, TopP = 0.96, Seed = 4 },
    };

    [Fact]
    public void EverySnapshotIsScoredAgainstTheRunsClocks()
    {
        string dir = TinyRun();
        using var real = rand(40, 3, generator: new Generator(7));
        var points = LearningCurve.Score("tiny", LearningCurve.ConfigOf(dir), LearningCurve.Snapshots(dir), Vae, new ModelComparisonTests.MomentFeatures(),
            real, Options);
        Assert.Equal(new long[] { 2, 3 }, points.Select(p => p.Step));
        Assert.All(points, p => Assert.True(p.Arch == "mvar" && double.IsFinite(p.Fid) && p.CpuSeconds > 0));
        Assert.True(points[0].WallSeconds > 0 && points[1].WallSeconds > points[0].WallSeconds);
        // the last snapshot is the run's final weights: scoring model.pth directly gives the same figures
        using var model = ScaleTransformer.Load(LearningCurve.ConfigOf(dir), Path.Combine(dir, Trainer.WeightsFile));
        var direct = ModelComparison.Run([("tiny", model)], Vae, new ModelComparisonTests.MomentFeatures(), real, Options);
        using (direct[0]) Assert.Equal(direct[0].Figures.Fid, points[1].Fid);
        var csv = LearningCurve.Csv(points).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("run,arch,step,wall_s,cpu_s,fid,is,precision,recall,class_accuracy", csv[0]);
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("tiny,mvar,3,", csv[2]);
        string path = Path.Combine(dir, "curve.csv");
        File.WriteAllText(path, LearningCurve.Csv(points));
        Assert.Equal(points, LearningCurve.ReadCsv(path));   // "R" formatting: the doubles come back exactly
    }

    [Fact]
    public void AFineTunedRunsClocksStartWhereItsParentRunEnded()
    {
        string parent = TinyRun();
        var t = Plain() with { Epochs = 2 };
        string child = Fixtures.TempDir();
        using (var tr = NewTrainer("mvar", t, ParityTokens()))
        {
            tr.Info["init_from"] = Path.GetRelativePath(child, Path.Combine(parent, Trainer.WeightsFile));   // as `train --init-from` records it
            Assert.Equal(RunOutcome.Completed, TrainingRun.Run(tr, child, new RunOptions { SnapshotEvery = 2, TensorBoard = false }));
        }
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(parent, TrainingRun.RunFile)));
        double wall = doc.RootElement.GetProperty("wall_seconds").GetDouble(), cpu = doc.RootElement.GetProperty("cpu_seconds").GetDouble();
        var start = LearningCurve.StartingClock(child);
        Assert.Equal((wall, cpu, Path.GetFullPath(parent)), (start.WallSeconds, start.CpuSeconds, start.Parent));
        var own = CsvLog.ReadColumn(Path.Combine(child, Trainer.SnapshotDir, TrainingRun.SnapshotsFile), "wall_s").Single();
        var snap = LearningCurve.Snapshots(child).Single();
        Assert.Equal(wall + own.value, snap.WallSeconds, 1e-9);
        Assert.Equal((0.0, 0.0, (string?)null), LearningCurve.StartingClock(parent));   // trained from scratch
    }

    [Fact]
    public void ARunWithoutSnapshotsOrWithAMissingFileIsNamed()
    {
        string dir = Fixtures.TempDir();
        var e = Assert.Throws<MvarException>(() => LearningCurve.Snapshots(dir));
        Assert.Contains("trained without weight snapshots", e.Message);
        string run = TinyRun();
        File.Delete(Path.Combine(run, Trainer.SnapshotDir, Trainer.SnapshotFile(2)));
        var missing = Assert.Throws<MvarException>(() => LearningCurve.Snapshots(run));
        Assert.Contains("step 2", missing.Message);
        Assert.Contains("is not a training run folder", Assert.Throws<MvarException>(() => LearningCurve.ConfigOf(dir)).Message);
    }
}
