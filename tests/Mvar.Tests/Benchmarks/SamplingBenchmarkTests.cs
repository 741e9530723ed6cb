using System.Text.Json;
using Mvar.Benchmarks;
using Mvar.Config;
using Mvar.Sampling;

namespace Mvar.Tests.Benchmarks;

public class SamplingBenchmarkTests
{
    static ModelConfig Tiny(string arch) =>
        ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json")).WithArch(arch);

    static SamplingBenchmarkResult Run(string arch) => SamplingBenchmark.Run(Tiny(arch), new SamplingBenchmarkOptions
    {
        Name = "tiny", Batch = 2, Repeats = 1, Warmup = 0, GemmSize = 128, DecodeChunk = 1, QuietShare = 1,
        Sampling = new SamplingOptions { Cfg = 1.5, TopK = 900, TopP = 0.96, Seed = 3 },
    });

    // Hand count for the tiny model (C 64, 2 heads of 32, hidden 256, depth 2, V 64, Cvae 8, patch_nums 1,2,3,4,6,8:
    // 130 tokens; refine_step 4, kernel 3), guided (cfg 1.5: cond + uncond, 2 rows per image), per image:
    //   blocks' linears: 130 tokens * 2 rows * 2 blocks * 2 * (3*64*64 + 64*64 + 2*64*256) = 51,118,080
    //   ada_lin:         6 scales * 2 rows * (2 blocks * 2*64*384 + 2*64*128)              =  1,376,256
    //   word_embed:      129 tokens * 2 rows * 2*8*64                                       =    264,192
    //   head:            130 tokens * 2 rows * 2*64*64                                      =  2,129,920
    //   attention: 2 blocks * 2 rows * 4 * 64 * (query-key pairs)
    //     MVAR: 1 + 16 + 81 + 256 (within scale) + 36*9 + 64*9 (3x3 neighbours)  = 1254 pairs ->  1,284,096
    //     VAR:  1*1 + 4*5 + 9*14 + 16*30 + 36*66 + 64*130 (KV cache)            = 11323 pairs -> 11,594,752
    const double Common = 51_118_080 + 1_376_256 + 264_192 + 2_129_920;

    [Fact]
    public void MvarBenchmarkReportsSaneFiguresAndNoKvCache()
    {
        var r = Run("mvar");
        AssertSane(r);
        Assert.Equal((Common + 1_284_096) / 1e9, r.GflopsPerImage, 12);
        Assert.Equal(0, r.KvCacheBytes);
    }

    [Fact]
    public void VarBenchmarkCountsItsKvCache()
    {
        var r = Run("var");
        AssertSane(r);
        Assert.Equal((Common + 11_594_752) / 1e9, r.GflopsPerImage, 12);
        // 2 blocks * (k, v) * 4 rows (2 images, guided) * 2 heads * 130 tokens * 32 channels * 4 bytes
        Assert.Equal(2L * 2 * 4 * 2 * 130 * 32 * 4, r.KvCacheBytes);
    }

    static void AssertSane(SamplingBenchmarkResult r)
    {
        Assert.True(r.TransformerSeconds > 0 && r.DecodeSeconds > 0);
        Assert.Equal(r.TransformerSeconds + r.DecodeSeconds, r.SecondsPerImage, 9);
        Assert.Single(r.TransformerSecondsPerBatch);
        Assert.True(r.GemmPeakGflopPerSecond > 0 && r.TransformerGflopPerSecond > 0 && r.FractionOfGemmPeak > 0);
        Assert.True(r.RssAfterLoadMb > 0 && r.PeakRssMb >= r.TransformerPeakRssMb && r.PeakRssMb >= r.DecodePeakRssMb);
        Assert.Equal(1, r.DecodeChunk);
        using var json = JsonDocument.Parse(r.ToJson());
        foreach (var field in new[] { "seconds_per_image", "transformer_seconds", "decode_seconds", "peak_rss_mb", "rss_after_load_mb",
                                      "kv_cache_bytes", "gflops_per_image", "transformer_peak_above_load_mb", "decode_peak_above_load_mb",
                                      "gemm_peak_gflop_per_second", "fraction_of_gemm_peak" })
            Assert.True(json.RootElement.TryGetProperty(field, out _), $"JSON lacks {field}");
    }

    [Fact]
    public void CliWritesTheJson()
    {
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "bench.json");
        var res = Mvar.Tests.Cli.CliRunner.Run("bench", "sample", "--config", Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json"),
            "--repeats", "1", "--warmup", "0", "--quiet-share", "1", "--gemm-size", "64", "--json", path);
        Assert.True(res.ExitCode == 0, res.StdErr);
        Assert.Contains("seconds per image", res.StdOut);
        var r = SamplingBenchmarkResult.FromJson(File.ReadAllText(path));
        Assert.Equal("mvar", r.Arch);
        Assert.True(r.SecondsPerImage > 0);
        Assert.Equal((Common + 1_284_096) / 1e9, r.GflopsPerImage, 12);
    }

    [Fact]
    public void RedirectedTablesAreNotWrappedAtEightyColumns()
    {
        // no COLUMNS (CliRunner sets 200 otherwise): stdout is a pipe, as when a script writes the table into a file
        var res = Mvar.Tests.Cli.CliRunner.RunWith(new Dictionary<string, string> { ["COLUMNS"] = "" }, [],
            "bench", "sample", "--config", Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json"),
            "--repeats", "1", "--warmup", "0", "--quiet-share", "1", "--gemm-size", "64");
        Assert.True(res.ExitCode == 0, res.StdErr);
        var rows = res.StdOut.Split('\n').Where(l => l.StartsWith('│')).ToList();
        Assert.Contains(rows, l => l.Contains("seconds per image"));
        // the title (longer than 80 columns) is one line: the table took the room it needs
        Assert.Contains(res.StdOut.Split('\n'), l => l.Length > 80 && l.Contains("parity-tiny-mvar.json") && l.Contains("mkl GEMM"));
        Assert.DoesNotContain(rows, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^│\s+│"));   // no continuation rows of a wrapped label
    }
}
