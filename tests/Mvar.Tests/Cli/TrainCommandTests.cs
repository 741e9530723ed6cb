using System.Globalization;
using Mvar.Tests.Training;

namespace Mvar.Tests.Cli;

/// <summary>`mvar train` as a user runs it: tokenizer, then VAR and MVAR on its tokens, stop/resume, then sampling.</summary>
public class TrainCommandTests
{
    static readonly string Config = Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json");

    [FashionMnistFact]
    public void TokenizerThenTransformersTrainStopResumeAndSample()
    {
        string dir = Fixtures.TempDir(), tok = Path.Combine(dir, "tok"), var_ = Path.Combine(dir, "var"), mvar = Path.Combine(dir, "mvar");

        // tokenizer: 32 images, batch 8, 2 epochs = 8 steps; progress lines, checkpoint, weights, logs, pictures
        var r = CliRunner.Run("train", "tokenizer", "--config", Config, "--data", "fashion-mnist", "--limit", "32", "--out", tok);
        Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
        Assert.Matches(@"step 7/8 ep \d .* it/s ETA \d\d:\d\d:\d\d", r.StdOut);
        Assert.Contains("done: 8 steps", r.StdOut);
        foreach (var f in new[] { "checkpoint.pth", "model.pth", "config.json", "metrics.csv", "loss.png", "recon-epoch001.png", "recon-epoch002.png" })
            Assert.True(File.Exists(Path.Combine(tok, f)), f);
        Assert.Single(Directory.GetFiles(tok, "events.out.tfevents.*"));

        // VAR: stopped after 3 steps, then resumed to the end; the CSV holds each logged step once
        string vae = Path.Combine(tok, "model.pth");
        r = CliRunner.Run("train", "transformer", "--arch", "var", "--config", Config, "--vae", vae, "--data", "fashion-mnist", "--limit", "32", "--out",
            var_, "--stop-after", "3");
        Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
        Assert.Contains("stopped after step 3", r.StdOut);
        // the run folder moved elsewhere, with a temporary file a killed write left: it resumes, with its token cache
        string moved = Path.Combine(dir, "moved", "var");
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        Directory.Move(var_, moved);
        var_ = moved;
        string stale = Path.Combine(var_, $".checkpoint.pth.999999999.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(stale, "half a checkpoint");
        r = CliRunner.Run("train", "transformer", "--resume", var_);
        Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
        Assert.Contains("resuming at step 3", r.StdOut);
        Assert.Contains($"token maps: {Path.Combine(var_, "tokens.cache")}", r.StdOut);   // the cache of the first run is reused
        Assert.False(File.Exists(stale));
        Assert.Contains("left by an interrupted write", r.StdErr);
        Assert.Contains("done: 8 steps", r.StdOut);
        var steps = File.ReadAllLines(Path.Combine(var_, "metrics.csv")).Skip(1).Select(l => int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(steps.Distinct().OrderBy(s => s), steps);
        Assert.Equal(7, steps[^1]);
        r = CliRunner.Run("train", "transformer", "--resume", var_);   // a finished run: nothing left to do
        Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
        // a grid of one sample per class after each epoch (4 steps), also an image in the TensorBoard events
        var grids = new[] { "samples-epoch001.png", "samples-epoch002.png" }.Select(f => Path.Combine(var_, f)).ToList();
        Assert.All(grids, g => Assert.True(File.Exists(g), g));
        var first = StbImageSharp.ImageResult.FromMemory(File.ReadAllBytes(grids[0]), StbImageSharp.ColorComponents.Grey);
        Assert.True(first.Width > 8 * first.Height, $"{first.Width}x{first.Height}: not a row of one sample per class");
        Assert.NotEqual(File.ReadAllBytes(grids[0]), File.ReadAllBytes(grids[1]));   // the weights changed, the draws did not
        var sampleImages = Directory.GetFiles(var_, "events.out.tfevents.*").SelectMany(EventFileReader.Read)
            .Where(e => e.Summary != null).SelectMany(e => e.Summary.Value.Where(x => x.Image != null).Select(x => (e.Step, x.Tag))).ToList();
        Assert.Equal([(3L, "samples"), (7L, "samples")], sampleImages.OrderBy(i => i.Step));

        // MVAR on the same tokenizer, then both sample through the trained config
        r = CliRunner.Run("train", "transformer", "--arch", "mvar", "--config", Config, "--vae", vae, "--data", "fashion-mnist", "--limit", "32", "--out",
            mvar);
        Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
        foreach (var (arch, run) in new[] { ("var", var_), ("mvar", mvar) })
        {
            string grid = Path.Combine(dir, $"{arch}.png");
            r = CliRunner.Run("sample", "--config", Path.Combine(run, "config.json"), "--arch", arch, "--vae", vae, "--model", Path.Combine(run, "model.pth"),
                "--class", "1,7", "--seed", "0", "--out", grid);
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.True(new FileInfo(grid).Length > 0);
        }

        // errors: a second run into the same folder, a tokenizer run resumed as a transformer run
        CliRunner.AssertOneLineError(CliRunner.Run("train", "transformer", "--config", Config, "--vae", vae, "--data", "fashion-mnist", "--out", var_),
            "already holds a training run");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "transformer", "--resume", tok), "holds a tokenizer training run");
    }

    [Fact]
    public void MissingInputsAreOneLineErrors()
    {
        string dir = Fixtures.TempDir();
        CliRunner.AssertOneLineError(CliRunner.Run("train", "tokenizer", "--data", "fashion-mnist", "--out", dir), "give --config");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "tokenizer", "--config", Path.Combine(dir, "none.json"), "--data", "fashion-mnist", "--out", dir),
            "config file not found");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "transformer", "--config", Config, "--data", "fashion-mnist", "--out", dir), "give --vae");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "tokenizer", "--config", Config, "--data", Path.Combine(dir, "no-such-folder"), "--out",
            Path.Combine(dir, "o")), "no-such-folder");
    }

    [Fact]
    public void ABatchTheMachineCannotHoldFailsAtOnceWithTheNumbers()
    {
        string dir = Fixtures.TempDir(), big = Path.Combine(dir, "big.json"), o = Path.Combine(dir, "o");
        File.WriteAllText(big, File.ReadAllText(Config).Replace("\"batch_size\": 8", "\"batch_size\": 65536").Replace("\"embed_dim\": 64",
            "\"embed_dim\": 1024"));
        foreach (var kind in new[] { "tokenizer", "transformer" })
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            string[] vae = kind == "transformer" ? ["--vae", Path.Combine(dir, "unused.pth")] : [];
            var r = CliRunner.Run(["train", kind, "--config", big, .. vae, "--data", "fashion-mnist", "--out", o]);
            CliRunner.AssertOneLineError(r, $"a {kind} training step of 65536 samples per process (training.batch_size) needs about");
            Assert.Contains("available", r.StdErr);
            Assert.True(sw.Elapsed.TotalSeconds < 60, $"{kind}: {sw.Elapsed}");
            Assert.False(Directory.Exists(o));   // nothing was created
        }
    }
}
