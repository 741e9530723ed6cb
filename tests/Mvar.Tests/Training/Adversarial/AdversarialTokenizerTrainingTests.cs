using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using Mvar.Tests.Cli;
using Mvar.Tokenizer;
using Mvar.Training;
using static TorchSharp.torch;

namespace Mvar.Tests.Training.Adversarial;

/// <summary>The tokenizer trained with VQGAN's recipe: discriminator, adaptive weight, augmentation, EMA.</summary>
public class AdversarialTokenizerTrainingTests
{
    static TrainingConfig Gan(long discStart = 1) => new()
    {
        Epochs = 2, BatchSize = 4, TokLr = 1e-3, CodeReinitEvery = 2, LogEvery = 1, SaveEvery = 1000,
        L1Weight = 0.2, L2Weight = 1.0, EmaDecay = 0.9, DiscWeight = 0.5, DiscStart = discStart, DiscWarmup = 2,
        DiscLayers = 2, DiscChannels = 8, LecamWeight = 0.01,
    };

    static ImageBatches Batches() => new(new SyntheticImages(8), new Preprocess(32, 1, Pad: true));

    [Fact]
    public void DiscriminatorTrainsFromDiscStartAndLogsItsMetrics()
    {
        var config = TokenizerTrainingTests.TinyFmnist(Gan(discStart: 1));
        using var vae = new VqVae(config.Tokenizer);
        using var tr = new TokenizerTrainer(config, vae, Batches());
        foreach (var k in new[] { "d_loss", "g_loss", "lambda", "d_real", "d_fake", "disc_factor", "l1", "l2" }) Assert.Contains(k, tr.MetricNames);
        var d0 = TrainingFixtures.Snapshot(tr.Discriminator!);
        var m0 = tr.Step();                                       // step 0: before disc_start
        Assert.Equal(0, m0["disc_factor"]);
        Assert.False(m0.ContainsKey("d_loss"));
        Assert.All(tr.Discriminator!.state_dict(), kv => Assert.True(kv.Value.eq(d0[kv.Key]).all().item<bool>(), kv.Key));
        var m1 = tr.Step();                                       // step 1: the ramp's first step, 1/2
        Assert.Equal(0.5, m1["disc_factor"]);
        Assert.True(double.IsFinite(m1["d_loss"]) && double.IsFinite(m1["g_loss"]));
        Assert.InRange(m1["lambda"], 0.5 * Mvar.Training.Adversarial.GanLosses.AdaptiveMin, 0.5 * Mvar.Training.Adversarial.GanLosses.AdaptiveMax);
        // the loss is the reconstruction (0.2 L1 + L2) + VQ + the weighted adversarial term
        Assert.Equal(0.2 * m1["l1"] + m1["l2"], m1["rec"], 4);
        Assert.Equal(m1["rec"] + m1["vq"] + m1["lambda"] * m1["disc_factor"] * m1["g_loss"], m1["loss"], 4);
        Assert.Contains(tr.Discriminator!.state_dict(), kv => !kv.Value.eq(d0[kv.Key]).all().item<bool>());
    }

    [Fact]
    public void DiscriminatorPretrainsAloneBeforeTheGeneratorSeesIt()
    {
        // disc_start 2, disc_pretrain 1: step 0 nothing adversarial, step 1 D learns alone, step 2 G's term starts
        var gan = Gan(discStart: 2) with { DiscPretrain = 1, DiscWarmup = 0, CodeReinitEvery = 0 };
        var config = TokenizerTrainingTests.TinyFmnist(gan);
        var plain = TokenizerTrainingTests.TinyFmnist(gan with { DiscWeight = 0, DiscPretrain = 0, LecamWeight = 0 });
        Dictionary<string, Tensor> init;
        using (var v0 = new VqVae(config.Tokenizer)) init = TrainingFixtures.Snapshot(v0);
        using var vae = new VqVae(config.Tokenizer); StateDictLoader.LoadInto(vae, init, "init");
        using var reference = new VqVae(plain.Tokenizer); StateDictLoader.LoadInto(reference, init, "init");
        using var tr = new TokenizerTrainer(config, vae, Batches());
        using var trPlain = new TokenizerTrainer(plain, reference, Batches());
        var d0 = TrainingFixtures.Snapshot(tr.Discriminator!);
        var m0 = tr.Step(); trPlain.Step();
        Assert.False(m0.ContainsKey("d_loss"));
        Assert.All(tr.Discriminator!.state_dict(), kv => Assert.True(kv.Value.eq(d0[kv.Key]).all().item<bool>(), kv.Key));
        var m1 = tr.Step(); trPlain.Step();
        Assert.Equal(0, m1["disc_factor"]);                      // the generator does not see D yet ...
        Assert.False(m1.ContainsKey("g_loss"));
        Assert.True(double.IsFinite(m1["d_loss"]));               // ... while D learns
        Assert.Contains(tr.Discriminator!.state_dict(), kv => !kv.Value.eq(d0[kv.Key]).all().item<bool>());
        // so far the tokenizer trained exactly as without a discriminator
        var live = reference.state_dict();
        Assert.All(vae.state_dict(), kv => Assert.True(kv.Value.eq(live[kv.Key]).all().item<bool>(), kv.Key));
        var m2 = tr.Step();
        Assert.Equal(1, m2["disc_factor"]);
        Assert.True(double.IsFinite(m2["g_loss"]) && double.IsFinite(m2["d_loss"]));
    }

    [Fact]
    public void ExportedWeightsAreTheMovingAverage()
    {
        var config = TokenizerTrainingTests.TinyFmnist(Gan());
        using var vae = new VqVae(config.Tokenizer);
        var w0 = TrainingFixtures.Snapshot(vae);
        using var tr = new TokenizerTrainer(config, vae, Batches());
        tr.Step();
        // one step of avg = 0.9 avg + 0.1 w from avg = w0
        var live = vae.state_dict(); var avg = tr.ExportedVae.state_dict();
        string key = "decoder.conv_out.weight";
        using var expected = w0[key] * 0.9 + live[key] * 0.1;
        Assert.True(avg[key].allclose(expected, rtol: 1e-5, atol: 1e-7));
        Assert.False(avg[key].eq(live[key]).all().item<bool>());
        string dir = Fixtures.TempDir();
        tr.Save(dir);
        var saved = Checkpoint.LoadStateDict(Path.Combine(dir, Trainer.WeightsFile));
        Assert.True(saved[key].eq(avg[key]).all().item<bool>());
    }

    [Fact]
    public void ResumeIsExactWithDiscriminatorItsOptimizerAndTheAverage()
    {
        var config = TokenizerTrainingTests.TinyFmnist(Gan(discStart: 1) with { Hflip = true });
        var a = new List<double>(); var b = new List<double>();
        string d1 = Fixtures.TempDir(), d2 = Fixtures.TempDir();
        Dictionary<string, Tensor> init;
        using (var v0 = new VqVae(config.Tokenizer)) init = TrainingFixtures.Snapshot(v0);
        VqVae Fresh() { var v = new VqVae(config.Tokenizer); StateDictLoader.LoadInto(v, init, "init"); return v; }
        TokenizerTrainer New(VqVae v) => new(config, v, new ImageBatches(new SyntheticImages(8), new Preprocess(32, 1, HFlip: true)));
        using (var v = Fresh())
        using (var tr = New(v)) TrainingRun.Run(tr, d1, new RunOptions
        {
            OnStep = (_, m) => a.Add(m["loss"] + m.GetValueOrDefault("d_loss")),
            TensorBoard = false
        });
        using (var v = Fresh())
        using (var tr = New(v)) TrainingRun.Run(tr, d2, new RunOptions
        {
            StopAfter = 2, OnStep = (_, m) => b.Add(m["loss"] + m.GetValueOrDefault("d_loss")),
            TensorBoard = false
        });
        using (var v = new VqVae(config.Tokenizer))
        using (var tr = New(v))
        {
            tr.Restore(d2); TrainingRun.Run(tr, d2, new RunOptions
            {
                OnStep = (_,
            m) => b.Add(m["loss"] + m.GetValueOrDefault("d_loss")), TensorBoard = false
            });
        }
        Assert.Equal(4, a.Count);
        Assert.Equal(a, b);
        var w1 = Checkpoint.LoadStateDict(Path.Combine(d1, Trainer.WeightsFile));
        var w2 = Checkpoint.LoadStateDict(Path.Combine(d2, Trainer.WeightsFile));
        Assert.All(w1, kv => Assert.True(kv.Value.eq(w2[kv.Key]).all().item<bool>(), kv.Key));
    }

    [Fact]
    public void ACheckpointWithoutDiscriminatorCannotResumeAnAdversarialRun()
    {
        var plain = TokenizerTrainingTests.TinyFmnist(new TrainingConfig { Epochs = 1, BatchSize = 4, LogEvery = 1 });
        string dir = Fixtures.TempDir();
        using (var v = new VqVae(plain.Tokenizer))
        using (var tr = new TokenizerTrainer(plain, v, Batches())) { tr.Step(); tr.Save(dir); }
        var gan = TokenizerTrainingTests.TinyFmnist(Gan() with { Epochs = 1, EmaDecay = 0 });
        using var v2 = new VqVae(gan.Tokenizer);
        using var tr2 = new TokenizerTrainer(gan, v2, Batches());
        var e = Assert.Throws<CheckpointException>(() => tr2.Restore(dir));
        Assert.Contains("no discriminator state", e.Message);
    }

    [Fact]
    public void LpipsWeightWithoutTheNetworkIsAnError()
    {
        // 64 px images (LPIPS applies from 48 px): the trainer asks for the weight files
        var config = TokenizerTrainingTests.TinyFmnist(new TrainingConfig { BatchSize = 4, LpipsWeight = 1 });
        config = config with { Tokenizer = config.Tokenizer with { PatchNums = [1, 2, 4, 8, 16] } };
        using var vae = new VqVae(config.Tokenizer);
        var e = Assert.Throws<MvarException>(() => new TokenizerTrainer(config, vae, new ImageBatches(new SyntheticImages(8), new Preprocess(64, 1,
            Pad: true))));
        Assert.Contains("give the LPIPS network", e.Message);
    }

    [Fact]
    public void ConfigRejectsImpossibleAdversarialSettings()
    {
        foreach (var (json, expected) in new[]
        {
            ("\"disc_weight\": -1", "disc_weight"), ("\"disc_layers\": 0", "disc_layers"), ("\"disc_aug\": \"rotate\"", "rotate"),
            ("\"ema_decay\": 1", "ema_decay"), ("\"l1_weight\": 0, \"l2_weight\": 0", "l1_weight"),
            ("\"disc_start\": 3, \"disc_pretrain\": 4", "disc_pretrain"),
        })
        {
            string text = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json"))
                .Replace("\"log_every\": 2", $"\"log_every\": 2, {json}");
            var e = Assert.Throws<ConfigException>(() => ModelConfig.Parse(text));
            Assert.Contains(expected, e.Message);
        }
    }

    [Fact]
    public void AdversarialSettingsSurviveTheCheckpointsConfigRoundTrip()
    {
        // a training checkpoint stores config.ToJson(); resuming parses it again (derived values must not be written)
        var config = TokenizerTrainingTests.TinyFmnist(Gan() with { DiscAug = "cutout", DiscSpectralNorm = true, DiscLr = 2e-4 });
        var back = ModelConfig.Parse(config.ToJson());
        TrainingConfig a = config.Training!, b = back.Training!;
        Assert.Equal(a.DiscWeight, b.DiscWeight);
        Assert.Equal(a.DiscStart, b.DiscStart);
        Assert.Equal(a.DiscChannels, b.DiscChannels);
        Assert.True(b.DiscSpectralNorm);
        Assert.Equal(2e-4, b.DiscLr);
        Assert.Equal(a.EmaDecay, b.EmaDecay);
        Assert.Equal(a.L2Weight, b.L2Weight);
        Assert.Equal(["cutout"], b.DiscAugmentationList());
        Assert.Equal(0.2, b.RecL1Weight);
    }

    [FashionMnistFact]
    public void ShortFashionMnistRunWithTheDiscriminatorLogsItAndWritesALoadableTokenizer()
    {
        string dir = Fixtures.TempDir(), cfg = Path.Combine(dir, "gan.json"), run = Path.Combine(dir, "tok");
        File.WriteAllText(cfg, File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json"))
            .Replace("\"log_every\": 2",
                "\"log_every\": 1, \"disc_weight\": 0.5, \"disc_start\": 2, \"disc_channels\": 8, \"disc_layers\": 2, \"ema_decay\": 0.99, \"l1_weight\": "
                + "0.2, \"l2_weight\": 1.0"));
        var r = CliRunner.Run("train", "tokenizer", "--config", cfg, "--data", "fashion-mnist", "--limit", "32", "--out", run);
        Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
        Assert.Matches(@"step 7/8 .* d \d+\.\d+ g -?\d+\.\d+ lambda ", r.StdOut);
        var header = File.ReadLines(Path.Combine(run, "metrics.csv")).First().Split(',');
        foreach (var k in new[] { "d_loss", "g_loss", "lambda", "d_real", "d_fake" }) Assert.Contains(k, header);
        var config = ModelConfig.Load(cfg);
        using var vae = VqVaeLoader.Load(config.Tokenizer, Path.Combine(run, "model.pth"));
        using var img = zeros(1, 1, 32, 32);
        using var rec = vae.ImgToReconstructedImg(img);
        Assert.Equal(new long[] { 1, 1, 32, 32 }, rec.shape);
        Assert.True(File.Exists(Path.Combine(run, "recon-epoch002.png")));
    }
}
