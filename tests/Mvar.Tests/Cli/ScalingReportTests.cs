using Mvar.Benchmarks;
using Mvar.IO;

namespace Mvar.Tests.Cli;

public class ScalingReportTests
{
    static SamplingBenchmarkResult Result(string arch, int px, int side, double usPerToken, double peakMb) => new()
    {
        Name = $"{arch}-d16", Arch = arch, Depth = 16, Batch = 1, ImageSize = px, SecondsPerImage = 2, TransformerSeconds = 1.5, DecodeSeconds = 0.5,
        ScaleSeconds = [0.1, 0.4], LastScaleSide = side, LastScaleTokens = side * side, LastScaleKeysPerQuery = arch == "var" ? 9451 : 49,
        LastScaleAttentionMflopPerToken = 1.0, LastScaleAttentionMicrosecondsPerToken = usPerToken, TransformerPeakAboveLoadMb = peakMb,
        DecodePeakAboveLoadMb = 700, KvCacheBytes = arch == "var" ? 170L << 20 : 0,
    };

    [Fact]
    public void WritesTheTableAndThePlotOfBenchSampleResults()
    {
        string dir = Fixtures.TempDir();
        var files = new[] { Result("var", 256, 16, 1.5, 300), Result("var", 1024, 64, 20, 3000), Result("mvar", 256, 16, 1.0, 60), Result("mvar", 1024, 64,
            1.1, 200) }
            .Select((r, i) => { string f = Path.Combine(dir, $"r{i}.json"); File.WriteAllText(f, r.ToJson()); return f; }).ToArray();
        string md = Path.Combine(dir, "scaling.md"), png = Path.Combine(dir, "scaling.png");
        var r = CliRunner.Run(["bench", "scaling", .. files, "--markdown", md, "--plot", png]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = File.ReadAllLines(md);
        Assert.Equal(2 + 4, lines.Length);
        Assert.StartsWith("| mvar-d16 | 256 | 16x16 (256) | 49 |", lines[2]);
        Assert.StartsWith("| var-d16 | 1024 | 64x64 (4096) | 9451 |", lines[5]);
        Assert.Contains("| 170.0 | 3000 | 700 |", lines[5]);
        var (_, width, height) = ImageFiles.ReadPixels(png, 3);
        Assert.Equal((1120, 400), (width, height));
    }

    [Fact]
    public void AMissingOrMalformedResultIsOneErrorLine()
    {
        string dir = Fixtures.TempDir(), bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, "{ not json");
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "scaling", Path.Combine(dir, "none.json")), "none.json");
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "scaling", bad), "bad.json: not a bench sample result");
    }
}
