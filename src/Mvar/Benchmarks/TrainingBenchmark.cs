using System.Diagnostics;
using Mvar.Config;
using Mvar.Diagnostics;
using Mvar.Tokenizer;
using Mvar.Tokens;
using Mvar.Training;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Benchmarks;

/// <summary>What <see cref="TrainingBenchmark"/> runs.</summary>
public sealed record TrainingBenchmarkOptions
{
    /// <summary>Name shown in the report (a preset name or a config path).</summary>
    public string Name { get; init; } = "";
    public int Batch { get; init; } = 2;
    /// <summary>Measured steps of each scale group (after <see cref="Warmup"/> unmeasured ones); the median is reported.</summary>
    public int Steps { get; init; } = 1;
    public int Warmup { get; init; } = 1;
    /// <summary>torch intra-op threads (0: leave libtorch's default).</summary>
    public int Threads { get; init; }
    /// <summary>Seed of the random weights, token maps and classes.</summary>
    public ulong Seed { get; init; }
    /// <summary>Progress lines (stderr in the CLI).</summary>
    public Action<string>? Progress { get; init; }
}

/// <summary>The timing and memory of one scale group's optimisation step.</summary>
public sealed record TrainingGroupResult
{
    /// <summary>e.g. "scales 0-7 (1x1..10x10)" or "scale 9 (16x16)".</summary>
    public string Label { get; init; } = "";
    public int FirstScale { get; init; }
    public int EndScale { get; init; }
    /// <summary>Tokens per image of the group's forward pass.</summary>
    public int Tokens { get; init; }
    /// <summary>How many steps of one schedule cycle train this group (the weight of its time in the mean).</summary>
    public int StepsPerCycle { get; init; }
    /// <summary>Global steps that were measured (the group's positions in the schedule).</summary>
    public long[] GlobalSteps { get; init; } = [];
    public double[] SecondsPerStepEach { get; init; } = [];
    public double SecondsPerStep { get; init; }
    public double SecondsPerImage { get; init; }
    /// <summary>CPU time (user + system, all threads) of each measured step: the work, whatever else the machine runs.</summary>
    public double[] CpuSecondsPerStepEach { get; init; } = [];
    public double CpuSecondsPerStep { get; init; }
    public double PeakRssMb { get; init; }
    public double PeakAboveWeightsAndOptimizerMb { get; init; }
    /// <summary>Share of all CPU time other processes used during each measured step.</summary>
    public double[] ForeignCpuShareEach { get; init; } = [];
}

/// <summary>One training benchmark result (the JSON of <c>mvar bench train --json</c>).</summary>
public sealed record TrainingBenchmarkResult : BenchmarkResult
{
    public string Name { get; init; } = "";
    public string Arch { get; init; } = "";
    public int Depth { get; init; }
    public long Parameters { get; init; }
    public int Batch { get; init; }
    public int Steps { get; init; }
    public int Warmup { get; init; }
    public int Threads { get; init; }
    public string Dtype { get; init; } = "float32";
    public int ImageSize { get; init; }
    public int RatioK { get; init; }
    /// <summary>Length of the schedule cycle (VAR 1; MVAR ratio_k + K - refine_step).</summary>
    public int CycleLength { get; init; }

    public TrainingGroupResult[] Groups { get; init; } = [];
    /// <summary>Mean seconds per optimisation step over one schedule cycle (each group's median weighted by its steps per cycle).</summary>
    public double SecondsPerStep { get; init; }
    public double SecondsPerImage { get; init; }
    /// <summary>The same cycle-weighted mean of the CPU time per step (user + system, all threads).</summary>
    public double CpuSecondsPerStep { get; init; }

    public double WeightsMb { get; init; }
    public double GradientsMb { get; init; }
    /// <summary>AdamW's exp_avg + exp_avg_sq: twice the trainable weights.</summary>
    public double OptimizerStateMb { get; init; }
    public double RssBeforeLoadMb { get; init; }
    /// <summary>After building the transformer and the quantizer (runtime + weights).</summary>
    public double RssAfterLoadMb { get; init; }
    public double RssAfterFirstStepMb { get; init; }
    /// <summary>Largest peak RSS of a measured step.</summary>
    public double PeakRssMb { get; init; }
    /// <summary><see cref="PeakRssMb"/> - (<see cref="RssAfterLoadMb"/> + <see cref="OptimizerStateMb"/>): gradients, activations, workspace.</summary>
    public double PeakAboveWeightsAndOptimizerMb { get; init; }

    public static TrainingBenchmarkResult FromJson(string json) => FromJson<TrainingBenchmarkResult>(json);
}

/// <summary>
/// Times one AdamW optimisation step of a VAR or MVAR transformer exactly as <see cref="TransformerTrainer"/> runs it
/// (teacher-forced forward, loss, backward, gradient clipping, AdamW step, metrics), with random weights (the official
/// initialisation), a randomly initialised quantizer and random token maps: the step's cost does not depend on the
/// values. MVAR: every scale group of the official ratio_k cycle is timed (the small-scale group and each large scale)
/// and the cycle-weighted mean reported. Memory: the peak RSS of each step (kernel peak counter reset before it).
/// </summary>
public static class TrainingBenchmark
{
    public static TrainingBenchmarkResult Run(ModelConfig config, TrainingBenchmarkOptions o)
    {
        var t = config.Transformer ?? throw new ConfigException("the configuration has no transformer section");
        if (o.Batch < 1) throw new MvarException($"batch must be at least 1, got {o.Batch}");
        if (o.Steps < 1) throw new MvarException($"steps must be at least 1, got {o.Steps}");
        if (o.Warmup < 0) throw new MvarException($"warmup must be >= 0, got {o.Warmup}");
        var log = o.Progress ?? (_ => { });
        if (o.Threads > 0) set_num_threads(o.Threads);
        var window = BenchmarkResult.Open();

        var layout = new ScaleLayout(config.Tokenizer.PatchNums);
        var baseTraining = config.Training ?? new TrainingConfig();
        int cycle = AttentionPatterns.For(t, layout).TrainingCycle(baseTraining.RatioK);
        // enough data and epochs that every step benchmarked lies inside the run (the lr schedule stays in range)
        int count = o.Batch * 4;
        long stepsNeeded = (long)cycle * (o.Warmup + o.Steps) + cycle;
        var training = baseTraining with { BatchSize = o.Batch, MaxSteps = 0, Epochs = (int)Math.Max(1, (stepsNeeded + 3) / 4 + 1) };
        config = config with { Training = training };

        double rssBefore = ProcessMemory.CurrentMb;
        using var gen = new Generator(o.Seed, CPU);
        using var model = ScaleTransformer.Create(config, initWeights: true, initGenerator: gen);
        using var quant = new VectorQuantizer2(config.Tokenizer);
        foreach (var p in quant.parameters()) p.requires_grad = false;
        var data = RandomTokens(count, layout.L, config.Tokenizer.VocabSize, t.NumClasses, gen);
        double rssAfterLoad = ProcessMemory.CurrentMb;
        long parameters = model.ParameterCount();
        double weightsMb = model.parameters().Sum(p => p.numel() * p.element_size()) / 1048576.0;
        double trainableMb = model.parameters().Where(p => p.requires_grad).Sum(p => p.numel() * p.element_size()) / 1048576.0;
        double optimizerMb = 2 * trainableMb;

        using var trainer = new TransformerTrainer(config, model, quant, data);
        log($"built {t.Arch.Name()}-d{t.Depth} ({parameters / 1e6:F1}M parameters, {weightsMb:F0} MB) with random weights; RSS {rssAfterLoad:F0} MB; " +
            $"batch {o.Batch}; {get_num_threads()} threads");

        // the groups of one schedule cycle, in cycle order, with the cycle positions that train each
        var groups = new List<(ScaleGroup group, List<long> positions)>();
        for (long g = 0; g < cycle; g++)
        {
            var sg = trainer.GroupAt(g);
            var found = groups.FindIndex(x => x.group.FirstScale == sg.FirstScale && x.group.EndScale == sg.EndScale);
            if (found < 0) groups.Add((sg, [g])); else groups[found].positions.Add(g);
        }

        double rssAfterFirst = double.NaN, peak = 0;
        var results = new List<TrainingGroupResult>();
        var sw = new Stopwatch();
        foreach (var (group, positions) in groups)
        {
            string label = Label(layout, group);
            var times = new List<double>(); var cpuTimes = new List<double>(); var shares = new List<double>(); var steps = new List<long>();
            double groupPeak = 0;
            for (int i = 0; i < o.Warmup + o.Steps; i++)
            {
                bool warm = i < o.Warmup;
                long g = positions[0] + (long)cycle * i;
                trainer.SeekStep(g);
                var cpu = CpuShare.Start();
                ProcessMemory.ResetPeak();
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                sw.Restart();
                var m = trainer.Step();
                double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                double s = sw.Elapsed.TotalSeconds, pk = ProcessMemory.PeakMb, foreign = cpu.ForeignShare();
                if (double.IsNaN(rssAfterFirst)) rssAfterFirst = ProcessMemory.CurrentMb;
                string what = warm ? $"warm-up {i + 1}/{o.Warmup}" : $"step {i - o.Warmup + 1}/{o.Steps}";
                log($"{label}, {what} (global step {g}): {s:F2}s (CPU {cpuSeconds:F1}s), peak RSS {pk:F0} MB, loss {m[Trainer.Loss]:F3}, "
                    + $"others' CPU share {foreign:P0}");
                if (warm) continue;
                times.Add(s); cpuTimes.Add(cpuSeconds); shares.Add(foreign); steps.Add(g);
                groupPeak = Math.Max(groupPeak, pk);
            }
            double median = Statistics.Median(times);
            peak = Math.Max(peak, groupPeak);
            results.Add(new TrainingGroupResult
            {
                Label = label, FirstScale = group.FirstScale, EndScale = group.EndScale,
                Tokens = layout.End(group.EndScale - 1) - layout.Begin(group.FirstScale), StepsPerCycle = positions.Count,
                GlobalSteps = steps.ToArray(), SecondsPerStepEach = times.ToArray(), SecondsPerStep = median, SecondsPerImage = median / o.Batch,
                CpuSecondsPerStepEach = cpuTimes.ToArray(), CpuSecondsPerStep = Statistics.Median(cpuTimes),
                PeakRssMb = groupPeak, PeakAboveWeightsAndOptimizerMb = groupPeak - rssAfterLoad - optimizerMb,
                ForeignCpuShareEach = shares.ToArray(),
            });
        }
        double mean = results.Sum(r => r.SecondsPerStep * r.StepsPerCycle) / results.Sum(r => r.StepsPerCycle);
        double cpuMean = results.Sum(r => r.CpuSecondsPerStep * r.StepsPerCycle) / results.Sum(r => r.StepsPerCycle);
        return window.Close(new TrainingBenchmarkResult
        {
            Name = o.Name, Arch = t.Arch.Name(), Depth = t.Depth, Parameters = parameters, Batch = o.Batch, Steps = o.Steps, Warmup = o.Warmup,
            Threads = get_num_threads(), ImageSize = config.Tokenizer.ImageSize, RatioK = training.RatioK, CycleLength = cycle,
            Groups = results.ToArray(), SecondsPerStep = mean, SecondsPerImage = mean / o.Batch, CpuSecondsPerStep = cpuMean,
            WeightsMb = weightsMb, GradientsMb = trainableMb, OptimizerStateMb = optimizerMb,
            RssBeforeLoadMb = rssBefore, RssAfterLoadMb = rssAfterLoad, RssAfterFirstStepMb = rssAfterFirst,
            PeakRssMb = peak, PeakAboveWeightsAndOptimizerMb = peak - rssAfterLoad - optimizerMb,
        });
    }

    static string Label(ScaleLayout layout, ScaleGroup g)
    {
        string Side(int si) => $"{layout.Side(si)}x{layout.Side(si)}";
        return g.EndScale - g.FirstScale == 1
            ? $"scale {g.FirstScale} ({Side(g.FirstScale)})"
            : $"scales {g.FirstScale}-{g.EndScale - 1} ({Side(g.FirstScale)}..{Side(g.EndScale - 1)})";
    }

    /// <summary>Uniformly random token maps and classes (the step's cost does not depend on the values).</summary>
    static InMemoryTokens RandomTokens(int count, int L, int vocab, int classes, Generator gen)
    {
        using var scope = NewDisposeScope();
        var tokens = randint(vocab, [count, L], dtype: ScalarType.Int64, generator: gen).data<long>().ToArray();
        var labels = randint(classes, [count], dtype: ScalarType.Int64, generator: gen).data<long>().ToArray();
        return new InMemoryTokens(
            Enumerable.Range(0, count).Select(i => tokens.AsSpan(i * L, L).ToArray()).ToArray(),
            labels.Select(x => (int)x).ToArray());
    }
}
