using Mvar.IO;
using Mvar.Training;
using Mvar.Training.Distributed;
using static Mvar.Tests.Training.TrainingFixtures;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

/// <summary><see cref="TransformerRun.Open"/>: the set-up of a transformer run, new or resumed, on the parity fixtures.</summary>
public class TransformerRunTests
{
    /// <summary>A configuration file of the parity models and an image folder of two classes, three images each.</summary>
    static (string config, string data) Inputs()
    {
        string dir = Fixtures.TempDir(), config = Path.Combine(dir, "config.json"), data = Path.Combine(dir, "images");
        File.WriteAllText(config, TrainingFixtures.Config("mvar", Plain()).ToJson());
        foreach (var c in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(data, c));
            for (int i = 0; i < 3; i++)
            {
                using var t = full(3, 32, 32, i * 0.3 - 0.5);
                ImageFiles.SavePng(t, Path.Combine(data, c, $"{i}.png"));
            }
        }
        return (config, data);
    }

    static TransformerRunSettings New(string runDir) => NewIn(runDir, Inputs());

    static TransformerRunSettings NewIn(string runDir, (string config, string data) inputs) =>
        new() { RunDir = runDir, ConfigFile = inputs.config, Data = inputs.data, Vae = Fixtures.Parity("vae.pth") };

    [Fact]
    public void ANewRunBuildsItsTokenCacheWritesItsConfigAndRecordsItsChoices()
    {
        string run = Path.Combine(Fixtures.TempDir(), "run");
        int built = 0;
        var hooks = new TrainingRunHooks { BuildTokenCache = shared => { built++; return shared.Build(); } };
        using var r = TransformerRun.Open(New(run), SingleProcess.Instance, hooks);
        Assert.Equal(1, built);
        Assert.Equal(6, r.Tokens.Count);
        Assert.Equal(0, r.Trainer.NextStep);
        Assert.True(File.Exists(Path.Combine(run, "config.json")));
        Assert.True(File.Exists(Path.Combine(run, TransformerRunInfo.DefaultCacheFile)));
        var recorded = TransformerRunInfo.Read(r.Trainer.Info, run);
        Assert.Equal(Path.GetFullPath(Fixtures.Parity("vae.pth")), recorded.Vae);
        Assert.Equal(Mvar.Config.Architecture.Mvar, recorded.Arch);
    }

    [Fact]
    public void AResumedRunNeedsOnlyItsFolderAndContinuesWhereItStopped()
    {
        string run = Path.Combine(Fixtures.TempDir(), "run");
        using (var first = TransformerRun.Open(New(run) with { Limit = 4 }, SingleProcess.Instance))
            Assert.Equal(RunOutcome.StoppedAtStep, TrainingRun.Run(first.Trainer, run, new RunOptions { StopAfter = 1, TensorBoard = false }));

        TokenCache? found = null;
        var hooks = new TrainingRunHooks
        {
            FoundTokenCache = (_, cached) => found = cached,
            BuildTokenCache = _ => throw new InvalidOperationException("rebuilt")
        };
        using var r = TransformerRun.Open(new TransformerRunSettings { RunDir = run, Resume = true }, SingleProcess.Instance, hooks);
        Assert.Equal(1, r.Trainer.NextStep);
        Assert.Equal(4, r.Tokens.Count);   // the recorded limit
        Assert.NotNull(found);
    }

    [Fact]
    public void BadSettingsAreOneClearError()
    {
        var inputs = Inputs();
        string dir = Fixtures.TempDir(), missing = Path.Combine(dir, "no-such.pth");
        var e = Assert.ThrowsAny<MvarException>(() => TransformerRun.Open(NewIn(Path.Combine(dir, "a"), inputs) with { InitFrom = missing },
            SingleProcess.Instance));
        Assert.Contains(missing, e.Message);
        e = Assert.ThrowsAny<MvarException>(() => TransformerRun.Open(NewIn(Path.Combine(dir, "b"), inputs) with { Vae = null }, SingleProcess.Instance));
        Assert.Contains("Vae", e.Message);
        Assert.DoesNotContain("--", e.Message);
        e = Assert.ThrowsAny<MvarException>(() => TransformerRun.Open(new TransformerRunSettings { RunDir = Path.Combine(dir, "c"), Resume = true },
            SingleProcess.Instance));
        Assert.Contains(Path.Combine(dir, "c"), e.Message);
    }
}
