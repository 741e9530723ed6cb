using Mvar.IO;
using Mvar.Metrics;
using Mvar.Tests.Cli;
using static TorchSharp.torch;

namespace Mvar.Tests.Metrics;

public class SampleEvaluationTests
{
    /// <summary>An .npz of n smooth random grey-ish 28x28 images (uint8 N x H x W x 3).</summary>
    static string SampleNpz(string dir, string name, int n, int seed, double noise = 0)
    {
        var g = new TorchSharp.torch.Generator((ulong)seed);
        var blobs = nn.functional.interpolate(rand(n, 1, 7, 7, generator: g) * 2 - 1, [28, 28], mode: InterpolationMode.Bilinear);
        if (noise > 0) blobs = blobs + noise * randn(n, 1, 28, 28, generator: g);
        string path = Path.Combine(dir, name);
        Npz.Save(path, new Dictionary<string, Tensor> { ["arr_0"] = Npz.ToUint8NHWC(blobs.clamp(-1, 1)) });
        return path;
    }

    [Fact]
    public void ASetAgainstItselfScoresPerfectlyAndTheReferenceIsCached()
    {
        string dir = Fixtures.TempDir(), cache = Path.Combine(dir, "cache");
        string a = SampleNpz(dir, "a.npz", 400, 1);
        using var net = new FashionClassifier();
        net.eval();
        var first = SampleEvaluation.Run(net, a, a, cache);
        Assert.False(first.ReferenceFromCache);
        Assert.InRange(first.Fid, -1e-6, 1e-3);
        Assert.Equal(1.0, first.Precision);
        Assert.Equal(1.0, first.Recall);
        Assert.Equal(400, first.Samples);
        var second = SampleEvaluation.Run(net, a, a, cache);
        Assert.True(second.ReferenceFromCache);
        Assert.Equal(first.Fid, second.Fid, 9);

        string b = SampleNpz(dir, "b.npz", 400, 2, noise: 0.5);
        Assert.True(SampleEvaluation.Run(net, b, a, cache).Fid > first.Fid + 1e-3);
    }

    [Fact]
    public void TooFewSamplesForTheFeaturesIsAClearError()
    {
        string dir = Fixtures.TempDir();
        string small = SampleNpz(dir, "small.npz", 100, 1), big = SampleNpz(dir, "big.npz", 400, 2);
        using var net = new FashionClassifier();
        var e = Assert.Throws<MvarException>(() => SampleEvaluation.Run(net, small, big, Path.Combine(dir, "cache")));
        Assert.Contains("the sample set has 100 samples", e.Message);
    }

    [Fact]
    public void EvalCommandWritesAReportAndRejectsBadInputs()
    {
        string dir = Fixtures.TempDir();
        string a = SampleNpz(dir, "a.npz", 300, 1), weights = Path.Combine(dir, "cls.safetensors"), json = Path.Combine(dir, "r.json");
        using (var net = new FashionClassifier()) Checkpoint.SaveStateDict(weights, net.state_dict());
        var r = CliRunner.Run("eval", "--samples", a, "--reference", a, "--classifier", weights, "--json", json, "--cache-dir", Path.Combine(dir, "c"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("FID", r.StdOut);
        var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(300, report.GetProperty("samples").GetInt64());
        Assert.Equal(1.0, report.GetProperty("precision").GetDouble());

        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--samples", Path.Combine(dir, "none.npz"), "--reference", a, "--classifier", weights), "not found");
        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--samples", a, "--reference", a, "--features", "inception"), "unknown feature network");
        File.WriteAllText(Path.Combine(dir, "bad.npz"), "x");
        CliRunner.AssertOneLineError(CliRunner.Run("eval", "--samples", Path.Combine(dir, "bad.npz"), "--reference", a, "--classifier", weights), "bad.npz");
    }
}
