using System.Diagnostics;
using Mvar.Config;
using Mvar.Diagnostics;
using Mvar.Kernels;
using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Benchmarks;

/// <summary>What <see cref="SamplingBenchmark"/> runs.</summary>
public sealed record SamplingBenchmarkOptions
{
    /// <summary>Name shown in the report (a preset name or a config path).</summary>
    public string Name { get; init; } = "";
    public int Batch { get; init; } = 1;
    /// <summary>Measured runs after the warm-up run(s); the times reported are their median.</summary>
    public int Repeats { get; init; } = 3;
    public int Warmup { get; init; } = 1;
    public SamplingOptions Sampling { get; init; } = new() { Seed = 0 };
    /// <summary>Images decoded per decoder call (0: the whole batch at once).</summary>
    public int DecodeChunk { get; init; }
    /// <summary>torch intra-op threads (0: leave libtorch's default).</summary>
    public int Threads { get; init; }
    /// <summary>Side of the square fp32 matmul that measures the GEMM peak (0: skip).</summary>
    public int GemmSize { get; init; } = 2048;
    /// <summary>Apply the official (truncated-normal) initialisation instead of the constructors' default one.</summary>
    public bool OfficialInit { get; init; } = true;
    /// <summary>Transformer weights and compute: float32 (the parity path) or bfloat16 (faster, approximate). The tokenizer stays float32.</summary>
    public ScalarType Dtype { get; init; } = ScalarType.Float32;
    /// <summary>The GEMM kernel of the per-scale linear layers (<see cref="ScaleTransformer.UseGemm"/>); packing counts as load time.</summary>
    public GemmKernel Gemm { get; init; } = GemmKernel.Mkl;
    /// <summary>
    /// A run is disturbed when other processes used more than this share of all CPU time during it (1: never): each run
    /// waits for a machine this quiet first, and a disturbed measured run is repeated (up to <see cref="MaxRetries"/>).
    /// </summary>
    public double QuietShare { get; init; } = 0.05;
    public int MaxRetries { get; init; } = 6;
    /// <summary>Longest wait for a quiet machine before each run, in seconds.</summary>
    public double QuietWaitSeconds { get; init; } = 900;
    /// <summary>Progress lines (stderr in the CLI).</summary>
    public Action<string>? Progress { get; init; }
}

/// <summary>One benchmark result (the JSON of <c>mvar bench sample --json</c>). Times are per image unless named per batch.</summary>
public sealed record SamplingBenchmarkResult : BenchmarkResult
{
    public string Name { get; init; } = "";
    public string Arch { get; init; } = "";
    public int Depth { get; init; }
    public long Parameters { get; init; }
    public int Batch { get; init; }
    public int Repeats { get; init; }
    public int Warmup { get; init; }
    public int Threads { get; init; }
    public string Dtype { get; init; } = "float32";
    public string Gemm { get; init; } = "mkl";
    public double Cfg { get; init; }
    public int TopK { get; init; }
    public double TopP { get; init; }
    public int DecodeChunk { get; init; }
    public int ImageSize { get; init; }

    public double SecondsPerImage { get; init; }
    public double TransformerSeconds { get; init; }
    public double DecodeSeconds { get; init; }
    public double[] TransformerSecondsPerBatch { get; init; } = [];
    public double[] DecodeSecondsPerBatch { get; init; } = [];
    public double LoadSeconds { get; init; }
    /// <summary>Share of all CPU time other processes used during each kept measured run.</summary>
    public double[] ForeignCpuSharePerRun { get; init; } = [];
    /// <summary>Measured runs thrown away and repeated because other processes were busy.</summary>
    public int DisturbedRunsDiscarded { get; init; }

    public double RssBeforeLoadMb { get; init; }
    public double RssAfterLoadMb { get; init; }
    public double PeakRssMb { get; init; }
    public double TransformerPeakRssMb { get; init; }
    public double DecodePeakRssMb { get; init; }
    public double TransformerPeakAboveLoadMb { get; init; }
    public double DecodePeakAboveLoadMb { get; init; }
    public long KvCacheBytes { get; init; }

    /// <summary>Median transformer-phase seconds per image of every scale (the sampler's step: forward, filtering, draws, quantizer).</summary>
    public double[] ScaleSeconds { get; init; } = [];
    /// <summary>Side and token count of the last (largest) scale.</summary>
    public int LastScaleSide { get; init; }
    public int LastScaleTokens { get; init; }
    /// <summary>Keys each query of the last scale attends to (VAR: every token; MVAR: kernel^2 or its scale).</summary>
    public long LastScaleKeysPerQuery { get; init; }
    /// <summary>Analytic attention FLOPs (scores + weighted sum, 4 keys C) per query token of the last scale, per block, in MFLOP.</summary>
    public double LastScaleAttentionMflopPerToken { get; init; }
    /// <summary>Measured attention core (<see cref="AttentionTiming"/>) at the last scale, per query token and block, in microseconds.</summary>
    public double LastScaleAttentionMicrosecondsPerToken { get; init; }

    public double GflopsPerImage { get; init; }
    public Dictionary<string, double> GflopsPerImageBreakdown { get; init; } = new();
    public double TransformerGflopPerSecond { get; init; }
    public double GemmSize { get; init; }
    public double GemmPeakGflopPerSecond { get; init; }
    public double FractionOfGemmPeak { get; init; }
    /// <summary>transformer FLOPs / GEMM peak: the fp32 floor of the transformer phase per image.</summary>
    public double TransformerFloorSeconds { get; init; }

    public static SamplingBenchmarkResult FromJson(string json) => FromJson<SamplingBenchmarkResult>(json);
}

/// <summary>
/// Times class-conditional sampling with random weights: the transformer phase (the sampler's scale loop, including
/// filtering, draws and the quantizer) and the decode phase (f_hat to images) separately, with resident memory per
/// phase, the KV cache size and the analytic FLOPs against a measured fp32 GEMM peak.
/// </summary>
public static class SamplingBenchmark
{
    public static SamplingBenchmarkResult Run(ModelConfig config, SamplingBenchmarkOptions o)
    {
        var t = config.Transformer ?? throw new ConfigException("the configuration has no transformer section");
        if (o.Batch < 1) throw new MvarException($"batch must be at least 1, got {o.Batch}");
        if (o.Repeats < 1) throw new MvarException($"repeats must be at least 1, got {o.Repeats}");
        if (o.Warmup < 0) throw new MvarException($"warmup must be >= 0, got {o.Warmup}");
        if (o.DecodeChunk < 0) throw new MvarException($"decode chunk must be >= 0, got {o.DecodeChunk}");
        o.Sampling.Validate();
        var log = o.Progress ?? (_ => { });
        if (o.Threads > 0) set_num_threads(o.Threads);
        var window = BenchmarkResult.Open();
        using var _ = no_grad();

        // ---- load (random weights)
        double rssBefore = ProcessMemory.CurrentMb;
        var sw = Stopwatch.StartNew();
        using var vae = new VqVae(config.Tokenizer);
        using var model = ScaleTransformer.Create(config, initWeights: o.OfficialInit);
        foreach (var p in model.parameters()) p.requires_grad = false;
        if (o.Dtype != ScalarType.Float32) model.ToComputeType(o.Dtype);
        long parameters = model.ParameterCount();
        if (o.Gemm != GemmKernel.Mkl) model.UseGemm(o.Gemm, inferenceOnly: true);
        double loadSeconds = sw.Elapsed.TotalSeconds;
        double rssAfterLoad = ProcessMemory.CurrentMb;
        log($"built {t.Arch.Name()}-d{t.Depth} ({parameters / 1e6:F1}M parameters) and its tokenizer with random weights in {loadSeconds:F1}s; RSS "
            + $"{rssAfterLoad:F0} MB; {get_num_threads()} threads");

        // ---- GEMM peak
        bool quietCheck = o.QuietShare < 1;
        void WaitQuiet() { if (quietCheck && !CpuShare.WaitForQuiet(o.QuietShare, o.QuietWaitSeconds, log)) log("the machine stayed busy: measuring anyway"); }
        WaitQuiet();
        double gemmPeak = o.GemmSize > 0 ? GemmPeak(o.GemmSize) : double.NaN;
        if (o.GemmSize > 0) log($"fp32 GEMM peak ({o.GemmSize}^3 matmul): {gemmPeak:F1} GFLOP/s");

        bool guided = model.Pattern.Guides(o.Sampling.Cfg);
        var flops = SamplingFlops.For(t, config.Tokenizer, o.Batch, guided);
        double gflopsPerImage = flops.Total / o.Batch / 1e9;

        var sampler = new ScaleSampler(model, vae);
        var transformerTimes = new List<double>();
        var decodeTimes = new List<double>();
        double peakT = 0, peakD = 0;
        long kvBytes = 0;
        var shares = new List<double>();
        var scaleTimes = new List<double[]>();
        int discarded = 0;
        for (int run = 0; run < o.Warmup + o.Repeats; run++)
        {
            bool warm = run < o.Warmup;
            string label = warm ? $"warm-up {run + 1}/{o.Warmup}" : $"run {run - o.Warmup + 1}/{o.Repeats}";
            var opts = o.Sampling with { Seed = (o.Sampling.Seed ?? 0) + (ulong)run };
            WaitQuiet();
            var cpu = CpuShare.Start();

            ProcessMemory.ResetPeak();
            sw.Restart();
            var perScale = new double[config.Tokenizer.PatchNums.Length];
            double previous = 0;
            using var result = sampler.Sample(null, o.Batch, opts, step =>
            {
                perScale[step.Si] = step.Elapsed.TotalSeconds - previous;
                previous = step.Elapsed.TotalSeconds;
                log($"  {label}: scale {step.Si + 1}/{step.ScaleCount} ({step.Side}x{step.Side}) {step.Elapsed.TotalSeconds:F2}s");
            });
            double tTrans = sw.Elapsed.TotalSeconds;
            double pT = ProcessMemory.PeakMb;

            ProcessMemory.ResetPeak();
            sw.Restart();
            Decode(vae, result.FHat, o.DecodeChunk).Dispose();
            double tDec = sw.Elapsed.TotalSeconds;
            double pD = ProcessMemory.PeakMb;
            log($"{label}: transformer {tTrans:F2}s, decode {tDec:F2}s (batch {o.Batch}); peak RSS transformer {pT:F0} MB, decode {pD:F0} MB");
            double foreign = cpu.ForeignShare();
            if (warm) continue;
            if (quietCheck && foreign > o.QuietShare && discarded < o.MaxRetries)
            {
                discarded++;
                log($"{label} disturbed (other processes used {foreign:P0} of the CPUs): discarded, repeating");
                run--;
                continue;
            }
            shares.Add(foreign);
            transformerTimes.Add(tTrans); decodeTimes.Add(tDec); scaleTimes.Add(perScale);
            peakT = Math.Max(peakT, pT); peakD = Math.Max(peakD, pD);
            kvBytes = result.KvCacheBytes;
        }

        if (o.GemmSize > 0)
        {
            // measured again after the runs: the better of the two is the peak (a busy moment only lowers it)
            WaitQuiet();
            double again = GemmPeak(o.GemmSize);
            log($"fp32 GEMM peak after the runs: {again:F1} GFLOP/s");
            gemmPeak = Math.Max(gemmPeak, again);
        }
        // the attention core of the last scale alone, on the batch the transformer runs (doubled by guidance)
        var layout = model.Layout;
        int last = layout.Count - 1, lastTokens = layout.End(last) - layout.Begin(last);
        long rows = guided ? 2L * o.Batch : o.Batch;
        WaitQuiet();
        double attnSeconds = AttentionTiming.Seconds(model, last, rows);
        long keysPerQuery = (long)Math.Round(model.Pattern.KeysPerQuery(last));
        log($"attention core at the last scale ({layout.Side(last)}x{layout.Side(last)}, {keysPerQuery} keys per query): {attnSeconds * 1e3:F1} ms per block");
        double trans = Statistics.Median(transformerTimes) / o.Batch, dec = Statistics.Median(decodeTimes) / o.Batch;
        double achieved = gflopsPerImage / trans;
        return window.Close(new SamplingBenchmarkResult
        {
            Name = o.Name, Arch = t.Arch.Name(), Depth = t.Depth, Parameters = parameters, Batch = o.Batch, Repeats = o.Repeats, Warmup = o.Warmup,
            Threads = get_num_threads(), Dtype = ComputeTypes.Name(o.Dtype), Gemm = o.Gemm.Name(), Cfg = o.Sampling.Cfg, TopK = o.Sampling.TopK,
            TopP = o.Sampling.TopP,
            DecodeChunk = o.DecodeChunk == 0 ? o.Batch : Math.Min(o.DecodeChunk, o.Batch), ImageSize = config.Tokenizer.ImageSize,
            SecondsPerImage = trans + dec, TransformerSeconds = trans, DecodeSeconds = dec,
            TransformerSecondsPerBatch = transformerTimes.ToArray(), DecodeSecondsPerBatch = decodeTimes.ToArray(), LoadSeconds = loadSeconds,
            ForeignCpuSharePerRun = shares.ToArray(), DisturbedRunsDiscarded = discarded,
            RssBeforeLoadMb = rssBefore, RssAfterLoadMb = rssAfterLoad, PeakRssMb = Math.Max(peakT, peakD),
            TransformerPeakRssMb = peakT, DecodePeakRssMb = peakD,
            TransformerPeakAboveLoadMb = peakT - rssAfterLoad, DecodePeakAboveLoadMb = peakD - rssAfterLoad,
            KvCacheBytes = kvBytes,
            ScaleSeconds = Enumerable.Range(0, layout.Count).Select(si => Statistics.Median(scaleTimes.Select(r => r[si]).ToList()) / o.Batch).ToArray(),
            LastScaleSide = layout.Side(last), LastScaleTokens = lastTokens, LastScaleKeysPerQuery = keysPerQuery,
            LastScaleAttentionMflopPerToken = 4.0 * keysPerQuery * t.EmbedDim / 1e6,
            LastScaleAttentionMicrosecondsPerToken = attnSeconds / (rows * lastTokens) * 1e6,
            GflopsPerImage = gflopsPerImage,
            GflopsPerImageBreakdown = new()
            {
                ["word_embed"] = flops.WordEmbed / o.Batch / 1e9, ["ada_lin"] = flops.AdaLn / o.Batch / 1e9,
                ["qkv_proj"] = flops.QkvProj / o.Batch / 1e9, ["attention"] = flops.Attention / o.Batch / 1e9,
                ["ffn"] = flops.Ffn / o.Batch / 1e9, ["head"] = flops.Head / o.Batch / 1e9,
            },
            TransformerGflopPerSecond = achieved,
            GemmSize = o.GemmSize, GemmPeakGflopPerSecond = gemmPeak,
            FractionOfGemmPeak = achieved / gemmPeak,
            TransformerFloorSeconds = gflopsPerImage / gemmPeak,
        });
    }

    /// <summary>Decodes f_hat (B, Cvae, h, w) to images in [-1, 1], <paramref name="chunk"/> images per decoder call (0: all).</summary>
    public static Tensor Decode(VqVae vae, Tensor f_hat, int chunk)
    {
        long B = f_hat.shape[0];
        if (chunk <= 0 || chunk >= B) return vae.FhatToImg(f_hat);
        var parts = new List<Tensor>();
        try
        {
            for (long b = 0; b < B; b += chunk)
                parts.Add(vae.FhatToImg(f_hat.narrow(0, b, Math.Min(chunk, B - b))));
            return cat(parts, 0);
        }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    /// <summary>Best fp32 GFLOP/s of an n x n x n matmul (one warm-up, best of five).</summary>
    public static double GemmPeak(int n)
    {
        using var _ = NewDisposeScope();
        var a = randn(n, n); var b = randn(n, n);
        a.mm(b).Dispose();
        double best = double.MaxValue;
        var sw = new Stopwatch();
        for (int i = 0; i < 5; i++)
        {
            sw.Restart();
            using (a.mm(b)) { }
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * (double)n / best / 1e9;
    }
}
