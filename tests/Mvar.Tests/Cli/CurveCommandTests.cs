using Mvar.Config;
using Mvar.IO;
using Mvar.Tokenizer;
using static TorchSharp.torch;

namespace Mvar.Tests.Cli;

public class CurveCommandTests
{
    static readonly string Config = Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json");

    [Fact]
    public void ScoresTheSnapshotsOfARunIntoACsvAndAPlot()
    {
        string dir = Fixtures.TempDir(), vae = Path.Combine(dir, "tokenizer.safetensors"), run = Path.Combine(dir, "mvar");
        using (var v = new VqVae(ModelConfig.Load(Config).Tokenizer)) Checkpoint.SaveStateDict(vae, v.state_dict());
        // 32 images in batches of 8 for 2 epochs: 8 steps, snapshots after 3, 6 and 8
        var r = CliRunner.Run("train", "transformer", "--arch", "mvar", "--config", Config, "--vae", vae, "--data", "fashion-mnist",
            "--limit", "32", "--out", run, "--snapshot-every", "3");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.True(File.Exists(Path.Combine(run, "run.json")));
        string reference = Path.Combine(dir, "reference.npz");
        using (var g = NewDisposeScope())
            Npz.Save(reference, new Dictionary<string, Tensor> { ["arr_0"] = Npz.ToUint8NHWC(rand(300, 1, 32, 32, generator: new Generator(5)) * 2 - 1) });
        string outDir = Path.Combine(dir, "curve");
        r = CliRunner.Run("curve", "--run", $"tiny={run}", "--vae", vae, "--data", reference, "--count", "260", "--batch", "130",
            "--cache-dir", Path.Combine(dir, "cache"), "--out", outDir);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var rows = File.ReadAllLines(Path.Combine(outDir, "curve.csv"));
        Assert.Equal(4, rows.Length);
        Assert.Equal(new[] { "3", "6", "8" }, rows.Skip(1).Select(l => l.Split(',')[2]));
        Assert.All(rows.Skip(1), l => Assert.StartsWith("tiny,mvar,", l));
        Assert.True(double.TryParse(rows[3].Split(',')[9], System.Globalization.CultureInfo.InvariantCulture, out var acc) && acc is >= 0 and <= 1, rows[3]);
        var (_, w, h) = ImageFiles.ReadPixels(Path.Combine(outDir, "curve.png"), 3);
        Assert.True(w >= 800 && h >= 500, $"curve.png is {w}x{h}");

        // drawn again from the CSV alone
        string again = Path.Combine(dir, "again");
        r = CliRunner.Run("curve", "--from-csv", Path.Combine(outDir, "curve.csv"), "--out", again);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.True(File.Exists(Path.Combine(again, "curve.png")));
        CliRunner.AssertOneLineError(CliRunner.Run("curve", "--from-csv", reference, "--out", again), "is not a curve.csv");
        CliRunner.AssertOneLineError(CliRunner.Run("curve", "--out", again), "give --run");

        CliRunner.AssertOneLineError(CliRunner.Run("curve", "--run", run, "--out", outDir), "expected NAME=RUN_FOLDER");
        CliRunner.AssertOneLineError(CliRunner.Run("curve", "--run", $"a={dir}", "--vae", vae, "--out", outDir), "is not a training run folder");
        string noSnapshots = Path.Combine(dir, "plain");
        Directory.CreateDirectory(noSnapshots);
        File.Copy(Path.Combine(run, "config.json"), Path.Combine(noSnapshots, "config.json"));
        CliRunner.AssertOneLineError(CliRunner.Run("curve", "--run", $"a={noSnapshots}", "--vae", vae, "--out", outDir), "--snapshot-every");
        CliRunner.AssertOneLineError(CliRunner.Run("curve", "--run", $"a b={run}", "--out", outDir), "the name may hold");
    }
}
