using Mvar.Training.Distributed;

namespace Mvar.Training;

public enum RunOutcome { Completed, StoppedAtStep, Interrupted }

/// <summary>Options of <see cref="TrainingRun.Run"/>: stop conditions and callbacks (console, images).</summary>
public sealed class RunOptions
{
    /// <summary>Polled between steps; when true the run saves and returns <see cref="RunOutcome.Interrupted"/>.</summary>
    public Func<bool> StopRequested { get; init; } = () => false;
    /// <summary>Save and stop once this many steps are done (for tests and time-boxed runs).</summary>
    public long? StopAfter { get; init; }
    /// <summary>Called on every logged step with the metrics averaged over the steps since the last log.</summary>
    public Action<long, IReadOnlyDictionary<string, double>>? OnLog { get; init; }
    /// <summary>
    /// After each completed epoch: writes a PNG (the epoch's index to the path written), which also goes to the
    /// TensorBoard events as an image of this tag at the epoch's last step.
    /// </summary>
    public (string Tag, Func<int, string> Write)? EpochImage { get; init; }
    /// <summary>Called after each step with its raw metrics.</summary>
    public Action<long, IReadOnlyDictionary<string, double>>? OnStep { get; init; }
    public bool TensorBoard { get; init; } = true;
    /// <summary>Every this many steps (and after the last) the weights go to snapshots/ (0: none); see <see cref="Trainer.SaveSnapshot"/>.</summary>
    public long SnapshotEvery { get; init; }
}

/// <summary>
/// The training loop shared by both trainers: steps until the end, logs (CSV metrics.csv, TensorBoard event file),
/// saves a checkpoint every save_every steps, at the end, and when stopped or interrupted. It keeps the run's clocks
/// (wall-clock and CPU seconds, carried over resumes in the checkpoint), writes weight snapshots with
/// <see cref="RunOptions.SnapshotEvery"/> (listed with the clocks in snapshots/snapshots.csv) and, when the run is
/// complete, run.json: steps, the clocks, the analytic training FLOPs, peak resident memory and the machine. A non-finite loss
/// propagates (<see cref="NonFiniteLossException"/>) without saving, so the last good checkpoint stays.
/// Over several ranks every rank runs this loop in lock-step (first taking rank 0's weights); only rank 0 writes the
/// logs and checkpoints and receives the callbacks; <see cref="RunOptions.StopRequested"/> is agreed over the ranks.
/// </summary>
public static class TrainingRun
{
    public const string MetricsFile = "metrics.csv", SnapshotsFile = "snapshots.csv", RunFile = "run.json";

    /// <summary>
    /// Creates the run folder and (rank 0) removes the temporary files a killed run's interrupted writes left there,
    /// telling <paramref name="note"/> of each, before anything of the run is written.
    /// </summary>
    public static void PrepareFolder(string dir, ICommunicator comm, Action<string>? note = null)
    {
        Directory.CreateDirectory(dir);
        if (comm.Rank != 0) return;
        foreach (var name in IO.AtomicFile.CleanStaleTemporaries(dir))
            note?.Invoke($"removed {Path.Combine(dir, name)}, left by an interrupted write");
    }

    public static RunOutcome Run(Trainer trainer, string outDir, RunOptions? options = null)
    {
        options ??= new RunOptions();
        var t = trainer.T;
        bool root = trainer.IsRoot;
        trainer.BroadcastFromRoot();
        if (root) Directory.CreateDirectory(outDir);
        using var csv = root ? new CsvLog(Path.Combine(outDir, MetricsFile), trainer.MetricNames, trainer.NextStep) : null;
        var tb = root && options.TensorBoard ? new TensorBoardLog(outDir) : null;
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var process = System.Diagnostics.Process.GetCurrentProcess();
        double wall0 = trainer.TrainSeconds, cpu0 = trainer.TrainCpuSeconds, cpuStart = process.TotalProcessorTime.TotalSeconds;
        void Tick()
        {
            process.Refresh();
            trainer.TrainSeconds = wall0 + wall.Elapsed.TotalSeconds;
            trainer.TrainCpuSeconds = cpu0 + process.TotalProcessorTime.TotalSeconds - cpuStart;
        }
        void Save() { Tick(); if (root) trainer.Save(outDir); }
        using var snapshots = root && options.SnapshotEvery > 0
            ? new CsvLog(Path.Combine(outDir, Trainer.SnapshotDir, SnapshotsFile), ["wall_s", "cpu_s"], trainer.NextStep, createDir: true) : null;
        void Snapshot()
        {
            Tick();
            if (snapshots is null) return;
            trainer.SaveSnapshot(outDir);
            snapshots.Write(trainer.NextStep, new Dictionary<string, double> { ["wall_s"] = trainer.TrainSeconds, ["cpu_s"] = trainer.TrainCpuSeconds });
        }
        var sums = new Dictionary<string, (double sum, int n)>();
        void Log(long step)
        {
            var mean = sums.ToDictionary(kv => kv.Key, kv => kv.Value.sum / kv.Value.n);
            csv?.Write(step, mean);
            tb?.Scalars(step, mean);
            if (root) options.OnLog?.Invoke(step, mean);
            sums.Clear();
        }
        while (trainer.NextStep < trainer.TotalSteps)
        {
            if (trainer.Comm.Any(options.StopRequested())) { Save(); return RunOutcome.Interrupted; }
            if (options.StopAfter is long stop && trainer.NextStep >= stop) { Save(); return RunOutcome.StoppedAtStep; }
            long step = trainer.NextStep;
            var m = trainer.Step();
            if (root) options.OnStep?.Invoke(step, m);
            foreach (var (k, v) in m)
            {
                if (double.IsNaN(v)) continue;
                var (s, n) = sums.GetValueOrDefault(k);
                sums[k] = (s + v, n + 1);
            }
            bool last = trainer.NextStep == trainer.TotalSteps;
            if (step % t.LogEvery == 0 || last) Log(step);
            if (options.SnapshotEvery > 0 && (trainer.NextStep % options.SnapshotEvery == 0 || last)) Snapshot();
            if (trainer.NextStep % t.SaveEvery == 0 && !last) Save();
            if (root && options.EpochImage is var (tag, write) && trainer.NextStep % trainer.Order.ItersPerEpoch == 0)
            {
                string png = write((int)(trainer.NextStep / trainer.Order.ItersPerEpoch) - 1);
                tb?.Image(tag, png, step);
            }
        }
        Save();
        if (root) WriteRunSummary(trainer, outDir);
        return RunOutcome.Completed;
    }

    /// <summary>run.json of a completed run: what it cost (the clocks over all its parts) and where it ran.</summary>
    static void WriteRunSummary(Trainer trainer, string outDir)
    {
        var summary = new Dictionary<string, object>
        {
            ["kind"] = trainer.Kind, ["steps"] = trainer.NextStep, ["batch_size"] = trainer.Order.BatchSize,
            ["wall_seconds"] = Math.Round(trainer.TrainSeconds, 3), ["cpu_seconds"] = Math.Round(trainer.TrainCpuSeconds, 3),
            ["ranks"] = trainer.Comm.Size, ["threads"] = TorchSharp.torch.get_num_threads(),
            ["machine"] = Diagnostics.MachineInfo.CpuModel(), ["finished"] = DateTime.UtcNow.ToString("u"),
        };
        if (trainer.AnalyticFlops(trainer.NextStep) is double flops) summary["analytic_train_flops"] = flops;
        // peak resident memory of this process (rank 0), the last part of a resumed run only
        if (Diagnostics.ProcessMemory.Supported) summary["peak_rss_mb"] = Math.Round(Diagnostics.ProcessMemory.PeakMb, 1);
        IO.AtomicFile.WriteAllText(Path.Combine(outDir, RunFile),
            IO.ReportJson.Serialize(summary));
    }
}
