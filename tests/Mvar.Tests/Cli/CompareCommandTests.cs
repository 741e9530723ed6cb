using System.Text.Json;
using Mvar.Config;
using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Tests.Cli;

public class CompareCommandTests
{
    static readonly string TinyConfig = Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json");

    /// <summary>Random-weight tokenizer, VAR and MVAR of the tiny 32x32 grey Fashion-MNIST config (fast to sample).</summary>
    static (string vae, string var, string mvar) TinyModels(string dir)
    {
        var config = ModelConfig.Load(TinyConfig);
        string vae = Path.Combine(dir, "tokenizer.safetensors"), var = Path.Combine(dir, "var.safetensors"), mvar = Path.Combine(dir, "mvar.safetensors");
        using (var v = new VqVae(config.Tokenizer)) Checkpoint.SaveStateDict(vae, v.state_dict());
        using (var m = ScaleTransformer.Create(config.WithArch("var"), initGenerator: new Generator(1))) Checkpoint.SaveStateDict(var, m.state_dict());
        using (var m = ScaleTransformer.Create(config.WithArch("mvar"), initGenerator: new Generator(2))) Checkpoint.SaveStateDict(mvar, m.state_dict());
        return (vae, var, mvar);
    }

    /// <summary>An .npz of n smooth random 32x32 grey images (uint8 N x H x W x 3): a small reference set.</summary>
    static string ReferenceNpz(string dir, int n)
    {
        var g = new Generator(3);
        using var scope = NewDisposeScope();
        var blobs = nn.functional.interpolate(rand(n, 1, 8, 8, generator: g) * 2 - 1, [32, 32], mode: InterpolationMode.Bilinear);
        string path = Path.Combine(dir, "reference.npz");
        Npz.Save(path, new Dictionary<string, Tensor> { ["arr_0"] = Npz.ToUint8NHWC(blobs) });
        return path;
    }

    [Fact]
    public void ComparesBothModelsAndWritesTheReports()
    {
        string dir = Fixtures.TempDir(), cache = Path.Combine(dir, "cache");
        var (vae, var, mvar) = TinyModels(dir);
        string reference = ReferenceNpz(dir, 300);
        string out1 = Path.Combine(dir, "out1");
        string[] args = ["compare", "--config", TinyConfig, "--vae", vae, "--var", var, "--mvar", mvar, "--data", reference,
            "--count", "260", "--batch", "65", "--seed", "4", "--cache-dir", cache, "--npz", "--out", out1];

        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("FID", r.StdOut);
        Assert.Contains("MVAR", r.StdOut);
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(out1, "compare.json"))).RootElement;
        var models = json.GetProperty("models").EnumerateArray().ToArray();
        Assert.Equal(["var", "mvar"], models.Select(m => m.GetProperty("arch").GetString()));
        foreach (var m in models)
        {
            Assert.Equal(260, m.GetProperty("images").GetInt32());
            foreach (var k in new[] { "fid", "is_mean", "precision", "recall", "seconds_per_image", "peak_above_weights_mb", "gflops_per_image" })
                Assert.True(double.IsFinite(m.GetProperty(k).GetDouble()), $"{k} is not finite");
            Assert.True(m.GetProperty("parameters").GetInt64() > 0);
        }
        // VAR at batch 65, guided: depth 2 x (k, v) x 130 rows x (1 + 4 + 16 + 64) tokens x 64 channels x 4 bytes; MVAR none
        Assert.Equal(2L * 2 * 130 * 85 * 64 * 4, models[0].GetProperty("kv_cache_bytes_per_batch").GetInt64());
        Assert.Equal(0, models[1].GetProperty("kv_cache_bytes_per_batch").GetInt64());

        string md = File.ReadAllText(Path.Combine(out1, "compare.md"));
        Assert.Contains("| FID (lower is better) |", md);
        Assert.Contains("--count 260", md);
        var (_, w, h) = ImageFiles.ReadPixels(Path.Combine(out1, "compare.png"), 3);
        Assert.True(w > 600 && h > 600, $"compare.png is {w}x{h}");
        var samples = Npz.Load(Path.Combine(out1, "var.npz"))["arr_0"];
        Assert.Equal([260, 32, 32, 3], samples.shape);

        // the samples written score as compare scored them
        string evalJson = Path.Combine(dir, "eval.json");
        var e = CliRunner.Run("eval", "--samples", Path.Combine(out1, "mvar.npz"), "--reference", reference, "--cache-dir", cache, "--json", evalJson);
        Assert.True(e.ExitCode == 0, e.StdErr);
        double fid = models[1].GetProperty("fid").GetDouble();
        Assert.Equal(fid, JsonDocument.Parse(File.ReadAllText(evalJson)).RootElement.GetProperty("fid").GetDouble(), 1e-5 * Math.Max(1, fid));
    }

    [Fact]
    public void BadInputsGiveOneLineErrors()
    {
        string dir = Fixtures.TempDir();
        string config = Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json");
        string[] Parity(params string[] extra) =>
            ["compare", "--config", config, "--vae", Fixtures.Parity("vae.pth"), "--var", Fixtures.Parity("var.pth"), "--mvar", Fixtures.Parity("mvar.pth"),
                .. extra];
        string outDir = Path.Combine(dir, "out");

        CliRunner.AssertOneLineError(CliRunner.Run(Parity("--count", "100", "--out", outDir)), "too few for FID");
        CliRunner.AssertOneLineError(CliRunner.Run(Parity("--per-class", "3", "--count", "300", "--out", outDir)), "either --per-class or --count");
        CliRunner.AssertOneLineError(CliRunner.Run("compare", "--config", config, "--vae", Fixtures.Parity("vae.pth"), "--var", Fixtures.Parity("var.pth"),
            "--mvar", Path.Combine(dir, "none.pth"), "--out", outDir), "MVAR checkpoint not found");
        CliRunner.AssertOneLineError(CliRunner.Run("compare", "--config", config, "--vae", Fixtures.Parity("vae.pth"), "--out", outDir),
            "missing: --var, --mvar");
        CliRunner.AssertOneLineError(CliRunner.Run("compare", "--preset", "var-d16", "--out", outDir), "missing: --vae, --var, --mvar");
        CliRunner.AssertOneLineError(CliRunner.Run(Parity("--preset", "var-d16", "--out", outDir)), "exactly one of --config FILE or --preset NAME");
        CliRunner.AssertOneLineError(CliRunner.Run("compare", "--config", Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny.json"),
            "--vae", Fixtures.Parity("vae.pth"), "--var", Fixtures.Parity("var.pth"), "--mvar", Fixtures.Parity("mvar.pth"), "--out", outDir),
                "no transformer section");
        string file = Path.Combine(dir, "a-file");
        File.WriteAllText(file, "");
        CliRunner.AssertOneLineError(CliRunner.Run(Parity("--out", file)), "is a file");
        // a transformer checkpoint that does not fit the configuration
        string reference = ReferenceNpz(dir, 300);
        CliRunner.AssertOneLineError(CliRunner.Run(Parity("--count", "300", "--data", reference, "--cache-dir", Path.Combine(dir, "c"), "--out", outDir)
            .Select(a => a == Fixtures.Parity("var.pth") ? Fixtures.Parity("vae.pth") : a).ToArray()), "does not fit the model");
        Assert.False(File.Exists(Path.Combine(outDir, "compare.json")));
    }
}
