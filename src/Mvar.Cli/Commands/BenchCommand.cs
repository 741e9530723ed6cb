using System.CommandLine;
using System.Globalization;
using Mvar.Benchmarks;
using Mvar.Config;
using Mvar.Diagnostics;
using Mvar.IO;
using Mvar.Kernels;
using Mvar.Sampling;
using Mvar.Transformer;
using Spectre.Console;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar bench sample|train</c>: sampling and training-step speed and memory with random weights (see bench/README.md).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks");
        bench.Subcommands.Add(CreateSample());
        bench.Subcommands.Add(CreateTrain());
        bench.Subcommands.Add(CreateScaling());
        bench.Subcommands.Add(CreateGemm());
        bench.Subcommands.Add(CreateAgreement());
        return bench;
    }

    static Command CreateScaling()
    {
        var inputs = new Argument<string[]>("RESULT")
        {
            Description = "bench sample --json results (VAR and MVAR at several resolutions)",
            Arity = ArgumentArity.OneOrMore
        };
        var markdown = new Option<string?>("--markdown") { Description = "write the table (markdown) here instead of stdout" };
        var plot = new Option<string?>("--plot")
        {
            Description =
            "write the plot (PNG): attention time per token and transformer memory against the last scale's tokens"
        };
        var cmd = new Command("scaling", "One table and one plot of bench sample results at several resolutions") { inputs, markdown, plot };
        return cmd.WithAction(p =>
        {
            string? md = p.GetValue(markdown), png = p.GetValue(plot);
            foreach (var path in new[] { md, png }) if (path != null) TokenizerOptions.CheckWritable(path);
            var results = p.GetValue(inputs)!.Select(ReadResult).ToList();
            string table = ScalingReport.Markdown(results);
            if (md != null) { AtomicFile.WriteAllText(md, table); Console.Error.WriteLine($"wrote {md}"); }
            else Console.Write(table);
            if (png != null) { ScalingReport.WritePlot(results, png); Console.Error.WriteLine($"wrote {png}"); }
            return 0;
        });
    }

    static SamplingBenchmarkResult ReadResult(string path)
    {
        FileKinds.RequireRegularFile(path, "benchmark result", m => new MvarException(m));
        try { return SamplingBenchmarkResult.FromJson(File.ReadAllText(path)) ?? throw new MvarException($"{path}: not a bench sample result"); }
        catch (System.Text.Json.JsonException e) { throw new MvarException($"{path}: not a bench sample result ({e.Message.Split('.')[0]})"); }
    }

    static Command CreateSample()
    {
        var preset = new Option<string?>("--preset") { Description = "built-in configuration, e.g. mvar-d16 or var-d16" };
        var config = new Option<string?>("--config") { Description = "model configuration JSON instead of a preset" };
        var arch = new Option<string?>("--arch") { Description = "override the architecture: var or mvar" };
        var resolution = ModelOptions.NewResolutionOption();
        var batch = new Option<int>("--batch") { Description = "images per sampling call", DefaultValueFactory = _ => 1 };
        var repeats = new Option<int>("--repeats") { Description = "measured runs (median reported)", DefaultValueFactory = _ => 3 };
        var warmup = new Option<int>("--warmup") { Description = "unmeasured runs first", DefaultValueFactory = _ => 1 };
        var sampling = new SamplingOptionSet("seed of the first run (run i uses seed + i)", randomSeed: false);
        var decodeChunk = new Option<int>("--decode-chunk") { Description = "images per decoder call (0: the whole batch)", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "torch intra-op threads (0: libtorch default)", DefaultValueFactory = _ => 0 };
        var gemm = new Option<int>("--gemm-size")
        {
            Description = "side of the fp32 matmul measuring the GEMM peak (0: skip)",
            DefaultValueFactory = _ => 2048
        };
        var dtype = new Option<string>("--dtype")
        {
            Description = "transformer compute type: float32 (parity path) or bf16 (faster, approximate)",
            DefaultValueFactory = _ => "float32"
        };
        var kernel = GemmOption();
        var quiet = new Option<double>("--quiet-share")
        {
            Description =
            "repeat a run during which other processes used more than this share of the CPUs, and wait for such a quiet machine before each run (1: off)",
            DefaultValueFactory = _ => 0.05
        };
        var retries = new Option<int>("--max-retries") { Description = "most disturbed runs to repeat", DefaultValueFactory = _ => 6 };
        var json = new Option<string?>("--json") { Description = "write the result as JSON" };
        var cmd = new Command("sample", "Time sampling (transformer and decode), memory, KV cache and FLOPs with random weights")
        {
            preset, config, arch, resolution, batch, repeats, warmup, decodeChunk, threads, gemm, dtype, kernel, quiet, retries, json,
        };
        sampling.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            string? presetName = p.GetValue(preset), configPath = p.GetValue(config);
            var modelConfig = ModelOptions.ResolveConfig(configPath, presetName, p.GetValue(arch), p.GetValue(resolution));
            string? jsonPath = p.GetValue(json);
            if (jsonPath != null) TokenizerOptions.CheckWritable(jsonPath);
            var options = new SamplingBenchmarkOptions
            {
                Name = BenchName(presetName, configPath, p.GetValue(resolution)), Batch = p.GetValue(batch), Repeats = p.GetValue(repeats),
                Warmup = p.GetValue(warmup),
                Sampling = sampling.From(p, modelConfig.Tokenizer.VocabSize),
                DecodeChunk = p.GetValue(decodeChunk), Threads = p.GetValue(threads), GemmSize = p.GetValue(gemm),
                Dtype = ComputeTypes.Parse(p.GetValue(dtype)!), Gemm = GemmKernels.Parse(p.GetValue(kernel)!),
                QuietShare = p.GetValue(quiet), MaxRetries = p.GetValue(retries),
                Progress = line => Console.Error.WriteLine(line),
            };
            var r = SamplingBenchmark.Run(modelConfig, options);
            Print(r);
            if (jsonPath != null)
            {
                AtomicFile.WriteAllText(jsonPath, r.ToJson());
                Console.Error.WriteLine($"wrote {jsonPath}");
            }
            return 0;
        });
    }

    /// <summary><c>--gemm</c>: the kernel of the transformer's per-scale linear layers at inference.</summary>
    internal static Option<string> GemmOption() => new("--gemm")
    {
        Description =
            "GEMM of the transformer's linear layers: mkl (libtorch's sgemm, the parity path), onednn (float32 on prepacked weights, ~1e-6 off) or int8 "
            + "(dynamic quantisation, approximate)",
        DefaultValueFactory = _ => "mkl",
    };

    static Command CreateTrain()
    {
        var preset = new Option<string?>("--preset") { Description = "built-in configuration, e.g. mvar-d16 or var-d16" };
        var config = new Option<string?>("--config") { Description = "model configuration JSON instead of a preset (its training section sets ratio_k etc.)" };
        var arch = new Option<string?>("--arch") { Description = "override the architecture: var or mvar" };
        var resolution = ModelOptions.NewResolutionOption();
        var batch = new Option<int>("--batch") { Description = "images per optimisation step", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "measured steps of each scale group (median reported)", DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup") { Description = "unmeasured steps of each scale group first", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "torch intra-op threads (0: libtorch default)", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the random weights, tokens and classes", DefaultValueFactory = _ => 0 };
        var dtype = new Option<string>("--dtype") { Description = "training compute type (float32 only)", DefaultValueFactory = _ => "float32" };
        var json = new Option<string?>("--json") { Description = "write the result as JSON" };
        var cmd = new Command("train", "Time one AdamW optimisation step (per MVAR scale group) and its peak memory with random weights")
        {
            preset, config, arch, resolution, batch, steps, warmup, threads, seed, dtype, json,
        };
        return cmd.WithAction(p =>
        {
            string? presetName = p.GetValue(preset), configPath = p.GetValue(config);
            var modelConfig = ModelOptions.ResolveConfig(configPath, presetName, p.GetValue(arch), p.GetValue(resolution));
            if (ComputeTypes.Parse(p.GetValue(dtype)!) != TorchSharp.torch.ScalarType.Float32)
                throw new MvarException("bench train measures the float32 training path only (--dtype float32)");
            string? jsonPath = p.GetValue(json);
            if (jsonPath != null) TokenizerOptions.CheckWritable(jsonPath);
            Mvar.TorchRuntime.ReturnFreedTensorsToTheSystem();   // as mvar train does
            var r = TrainingBenchmark.Run(modelConfig, new TrainingBenchmarkOptions
            {
                Name = BenchName(presetName, configPath, p.GetValue(resolution)), Batch = p.GetValue(batch), Steps = p.GetValue(steps),
                Warmup = p.GetValue(warmup),
                Threads = p.GetValue(threads), Seed = p.GetValue(seed), Progress = line => Console.Error.WriteLine(line),
            });
            Print(r);
            if (jsonPath != null)
            {
                AtomicFile.WriteAllText(jsonPath, r.ToJson());
                Console.Error.WriteLine($"wrote {jsonPath}");
            }
            return 0;
        });
    }

    static Command CreateGemm()
    {
        var preset = new Option<string?>("--preset") { Description = "built-in configuration, e.g. mvar-d16 or var-d16" };
        var config = new Option<string?>("--config") { Description = "model configuration JSON instead of a preset" };
        var resolution = ModelOptions.NewResolutionOption();
        var batch = new Option<int>("--batch") { Description = "images sampled together", DefaultValueFactory = _ => 1 };
        var cfg = new Option<double>("--cfg")
        {
            Description = "guidance scale (other than 1: the rows are doubled)", DefaultValueFactory = _ => SamplingOptions.DefaultCfg,
        };
        var repeats = new Option<int>("--repeats") { Description = "timed products per shape (the best is kept)", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "torch intra-op threads (0: libtorch default)", DefaultValueFactory = _ => 0 };
        var kernels = new Option<string>("--gemm")
        {
            Description = "GEMM kernels to time, comma-separated (mkl, onednn, int8), each shape on each in turn",
            DefaultValueFactory = _ => "mkl"
        };
        var json = new Option<string?>("--json") { Description = "write the timings as JSON" };
        var cmd = new Command("gemm", "Time the linear layers of sampling shape by shape (rows of each scale x each layer) with random values")
        {
            preset, config, resolution, batch, cfg, repeats, threads, kernels, json,
        };
        return cmd.WithAction(p =>
        {
            var modelConfig = ModelOptions.ResolveConfig(p.GetValue(config), p.GetValue(preset), null, p.GetValue(resolution));
            var t = modelConfig.Transformer ?? throw new MvarException("the configuration has no transformer section");
            int b = p.GetValue(batch);
            if (b < 1) throw new MvarException($"--batch must be at least 1, got {b}");
            var ks = p.GetValue(kernels)!.Split(',',
                StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(GemmKernels.Parse).Distinct().ToArray();
            if (ks.Length == 0) throw new MvarException("--gemm names no kernel");
            string? jsonPath = p.GetValue(json);
            if (jsonPath != null) TokenizerOptions.CheckWritable(jsonPath);
            if (p.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(p.GetValue(threads));
            bool guided = Mvar.Transformer.AttentionPatterns.For(t, modelConfig.Tokenizer).Guides(p.GetValue(cfg));
            var shapes = GemmShapeBenchmark.SamplingShapes(t, modelConfig.Tokenizer.PatchNums, modelConfig.Tokenizer.VocabSize, b, guided);
            // each shape on every kernel before the next shape: a drifting machine affects them alike
            var timings = shapes.Select(s => ks.Select(k => GemmShapeBenchmark.Time(s, b, p.GetValue(repeats), k)).ToArray()).ToList();
            var table = new
                Table().Title($"linear layers of sampling: {t.Arch.Name()}-d{t.Depth}, B={b}{(guided ? ", guided (rows doubled)" : "")}, "
                + $"{TorchSharp.torch.get_num_threads()} threads")
                .AddColumns("scale", "layer", "rows x in -> out");
            foreach (var k in ks) table.AddColumns($"{k.Name()} ms", $"{k.Name()} GFLOP/s");
            foreach (var (s, row) in shapes.Zip(timings))
                table.AddRow([s.Scale.ToString(CultureInfo.InvariantCulture), s.Layer, $"{s.Rows} x {s.In} -> {s.Out}",
                    .. row.SelectMany(x => new[] { F(x.Seconds * 1e3, "F3"), F(x.GflopPerSecond, "F1") })]);
            AnsiConsole.Write(table);
            double flops = shapes.Sum(s => s.Flops * s.PerImage) / b;
            var totals = ks.Select((_, i) => timings.Sum(row => row[i].SecondsPerImage)).ToArray();
            for (int i = 0; i < ks.Length; i++)
                Console.WriteLine($"{ks[i].Name()}: sum per image {totals[i]:F3} s for {flops / 1e9:F1} GFLOP = {flops / totals[i] / 1e9:F1} GFLOP/s" + (i > 0
                    ? $", {totals[0] / totals[i]:F2}x {ks[0].Name()}'s speed" : ""));
            if (jsonPath != null)
            {
                // the first kernel's timings at the top level (what bench/official_gemm.py and perf_categories.py read), every kernel's under "kernels"
                var perKernel = ks.Select((k, i) => new { gemm = k.Name(), seconds_per_image = totals[i], shapes = timings.Select(row => row[i]).ToArray() });
                AtomicFile.WriteAllText(jsonPath, System.Text.Json.JsonSerializer.Serialize(new
                {
                    machine = MachineInfo.CpuModel(), threads = TorchSharp.torch.get_num_threads(), batch = b, guided, gflops_per_image = flops / 1e9,
                    gemm = ks[0].Name(), seconds_per_image = totals[0], shapes = timings.Select(row => row[0]).ToArray(), kernels = perKernel
                }, ReportJson.Options));
                Console.Error.WriteLine($"wrote {jsonPath}");
            }
            return 0;
        });
    }

    static Command CreateAgreement()
    {
        var models = new ModelOptions();
        var kernel = new Option<string>("--gemm")
        {
            Description = "the approximate GEMM kernel compared with mkl (onednn or int8)",
            DefaultValueFactory = _ => "int8"
        };
        var count = new Option<int>("--count") { Description = "samples, the classes balanced", DefaultValueFactory = _ => 1000 };
        var sampling = new SamplingOptionSet("seed of the exact model's first sampling call (call i: seed + i)", randomSeed: false);
        var batch = new Option<int>("--batch") { Description = "samples per sampling call", DefaultValueFactory = _ => 50 };
        var json = new Option<string?>("--json") { Description = "write the per-scale agreement as JSON" };
        var cmd = new Command("agreement",
            "Greedy tokens of a packed GEMM kernel against libtorch's sgemm, per scale, teacher-forced on the exact model's tokens")
        {
            kernel, count, batch, json,
        };
        sampling.AddTo(cmd);
        models.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            var config = models.ResolveConfig(p);
            var k = GemmKernels.Parse(p.GetValue(kernel)!);
            if (k == GemmKernel.Mkl) throw new MvarException("--gemm must name the kernel to compare with mkl: onednn or int8");
            int n = p.GetValue(count);
            if (n < 1) throw new MvarException($"--count must be at least 1, got {n}");
            string? jsonPath = p.GetValue(json);
            if (jsonPath != null) TokenizerOptions.CheckWritable(jsonPath);
            using var _ = TorchSharp.torch.no_grad();
            var (tokenizer, exact) = models.Load(p, config);
            var (tokenizer2, approx) = models.Load(p, config);
            using var _t = tokenizer; using var _t2 = tokenizer2; using var _e = exact; using var _a = approx;
            approx.UseGemm(k, inferenceOnly: true);
            var classes = Mvar.Benchmarks.ModelComparison.BalancedClasses(n, config.Transformer!.NumClasses);
            var options = sampling.From(p, config.Tokenizer.VocabSize);
            var agree = ProgressDisplay.Run("greedy agreement", "samples", n, plainEvery: 200, d =>
                GreedyAgreement.PerScale(exact, approx, tokenizer, classes, options, p.GetValue(batch), done => d.Report(new WorkProgress(done, n))));
            var sides = config.Tokenizer.PatchNums;
            Console.WriteLine($"{config.Transformer.Arch.Name()}-d{config.Transformer.Depth}: greedy picks of {k.Name()} equal to mkl's, on the mkl "
                + $"model's samples (teacher-forced; {n} samples, cfg {F(options.Cfg, "G")}, top-k {options.TopK}, top-p {F(options.TopP, "G")}, seed "
                + $"{options.Seed})");
            var table = new Table().AddColumns("scale", "positions", "agreement");
            long all = 0; double agreed = 0;
            for (int si = 0; si < sides.Length; si++)
            {
                long positions = (long)n * sides[si] * sides[si];
                all += positions; agreed += agree[si] * positions;
                table.AddRow($"{si} ({sides[si]}x{sides[si]})", positions.ToString(CultureInfo.InvariantCulture), $"{agree[si] * 100:F2} %");
            }
            table.AddRow("all", all.ToString(CultureInfo.InvariantCulture), $"{agreed / all * 100:F2} %");
            AnsiConsole.Write(table);
            if (jsonPath != null)
            {
                AtomicFile.WriteAllText(jsonPath, System.Text.Json.JsonSerializer.Serialize(new
                {
                    command = Cli.CommandLine(), gemm = k.Name(), samples = n,
                    cfg = options.Cfg, top_k = options.TopK, top_p = options.TopP, seed = options.Seed, patch_nums = sides, agreement_per_scale = agree,
                    agreement_all = agreed / all
                }, ReportJson.Options));
                Console.Error.WriteLine($"wrote {jsonPath}");
            }
            return 0;
        });
    }

    /// <summary>The report's name: the preset (with a --resolution other than its own: "mvar-d16@512") or the config's file name.</summary>
    static string BenchName(string? preset, string? config, int? resolution) =>
        preset == null ? Path.GetFileName(config!) : resolution is { } r && Presets.FixedResolution(preset) == null && Presets.All.TryGetValue(preset,
            out var c) && c.Tokenizer.ImageSize != r
            ? $"{preset}@{r}" : preset;

    /// <summary>Why no official figure is printed: a ratio only means something measured in one run on this machine.</summary>
    const string SideBySideHint =
        "against the official code: bench/side-by-side.sh (both alternating in one run on this machine; figures from other machines or days are not "
        + "comparable)";

    static string F(double x, string fmt = "F2") => double.IsNaN(x) ? "-" : x.ToString(fmt, CultureInfo.InvariantCulture);

    static void Print(SamplingBenchmarkResult r)
    {
        // the heading on a line of its own: as the title of a two-column table it would wrap to the table's width
        Console.WriteLine($"{r.Name}: {r.Arch}-d{r.Depth}, B={r.Batch}, cfg {F(r.Cfg, "G")}, top-k {r.TopK}, top-p {F(r.TopP, "G")}, {r.Threads} threads, "
            + $"{r.Dtype}, {r.Gemm} GEMM");
        var table = new Table().AddColumns("measure", "value");
        void Row(string name, double value, string fmt = "F2") => table.AddRow(name, F(value, fmt));
        Row("seconds per image", r.SecondsPerImage);
        Row("  transformer s/image", r.TransformerSeconds);
        Row("  decode s/image", r.DecodeSeconds);
        Row("RSS after load (MB)", r.RssAfterLoadMb, "F0");
        Row("peak RSS (MB)", r.PeakRssMb, "F0");
        Row("peak above load (MB)", r.PeakRssMb - r.RssAfterLoadMb, "F0");
        Row("  transformer phase (MB)", r.TransformerPeakAboveLoadMb, "F0");
        Row("  decode phase (MB)", r.DecodePeakAboveLoadMb, "F0");
        Row("KV cache (MB)", r.KvCacheBytes / 1048576.0, "F1");
        Row($"last scale {r.LastScaleSide}x{r.LastScaleSide}: transformer s/image", r.ScaleSeconds.Length > 0 ? r.ScaleSeconds[^1] : double.NaN);
        Row($"  attention us/token/block ({r.LastScaleKeysPerQuery} keys)", r.LastScaleAttentionMicrosecondsPerToken, "F3");
        Row("  attention MFLOP/token/block", r.LastScaleAttentionMflopPerToken, "F2");
        Row("GFLOP per image (transformer)", r.GflopsPerImage, "F1");
        Row("transformer GFLOP/s", r.TransformerGflopPerSecond, "F1");
        Row($"fp32 GEMM peak GFLOP/s ({r.GemmSize}^3)", r.GemmPeakGflopPerSecond, "F1");
        Row("fraction of GEMM peak", r.FractionOfGemmPeak, "P0");
        Row("transformer fp32 floor s/image", r.TransformerFloorSeconds);
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"median of {r.Repeats} run(s) after {r.Warmup} warm-up ({r.DisturbedRunsDiscarded} disturbed run(s) discarded; others' "
            + $"CPU share in kept runs: {string.Join(" ", r.ForeignCpuSharePerRun.Select(x => x.ToString("P0", CultureInfo.InvariantCulture)))}); decode "
            + $"chunk {r.DecodeChunk}; load average {string.Join(" ", r.LoadAverageStart)} -> {string.Join(" ", r.LoadAverageEnd)}; "
            + $"{Markup.Escape(r.Machine)}");
        Console.WriteLine(SideBySideHint);
    }

    static void Print(TrainingBenchmarkResult r)
    {
        var table = new Table().Title($"{Markup.Escape(r.Name)}: {r.Arch}-d{r.Depth} training step, B={r.Batch}, {r.Threads} threads, {r.Dtype}")
            .AddColumns("scale group", "steps/cycle", "tokens", "s/step", "CPU s/step", "s/image", "peak MB", "above W+AdamW MB");
        for (int i = 0; i < r.Groups.Length; i++)
        {
            var g = r.Groups[i];
            table.AddRow(Markup.Escape(g.Label), g.StepsPerCycle.ToString(CultureInfo.InvariantCulture), g.Tokens.ToString(CultureInfo.InvariantCulture),
                F(g.SecondsPerStep), F(g.CpuSecondsPerStep), F(g.SecondsPerImage), F(g.PeakRssMb, "F0"), F(g.PeakAboveWeightsAndOptimizerMb, "F0"));
        }
        if (r.Groups.Length > 1)
            table.AddRow("cycle mean", r.CycleLength.ToString(CultureInfo.InvariantCulture), "", F(r.SecondsPerStep), F(r.CpuSecondsPerStep),
                F(r.SecondsPerImage),
                F(r.PeakRssMb, "F0"), F(r.PeakAboveWeightsAndOptimizerMb, "F0"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(Markup.Escape(
            $"weights {r.WeightsMb:F0} MB, gradients {r.GradientsMb:F0} MB, AdamW state {r.OptimizerStateMb:F0} MB; RSS after load {r.RssAfterLoadMb:F0} MB, " +
            $"after the first step {r.RssAfterFirstStepMb:F0} MB; peak {r.PeakRssMb:F0} MB; median of {r.Steps} step(s) per group after {r.Warmup} warm-up; " +
            $"load average {string.Join(" ", r.LoadAverageStart)} -> {string.Join(" ", r.LoadAverageEnd)}; {r.Machine}"));
        Console.WriteLine(SideBySideHint);
    }
}
