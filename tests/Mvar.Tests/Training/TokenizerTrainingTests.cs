using System.Globalization;
using Mvar.Config;
using Mvar.Data;
using Mvar.Tokenizer;
using Mvar.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

/// <summary>A small in-memory image data set: smooth random grey blobs, 28x28 like Fashion-MNIST.</summary>
public sealed class SyntheticImages(int count, int size = 28, int seed = 0) : IImageDataset
{
    public int Count => count;
    public int NumClasses => 4;
    public string Describe(int index) => $"synthetic#{index}";
    public int LabelOf(int index) => index % 4;
    public RawImage Read(int index, int channels)
    {
        var rng = new Random(seed * 1000 + index);
        double cx = rng.Next(6, size - 6), cy = rng.Next(6, size - 6), r = rng.Next(4, 9);
        var px = new byte[size * size * channels];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                double d = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                byte v = (byte)Math.Clamp(255 * (1 - Math.Max(0, d - r) / 3), 0, 255);
                for (int c = 0; c < channels; c++) px[(y * size + x) * channels + c] = v;
            }
        return new RawImage(px, size, size, channels, LabelOf(index));
    }
}

public class TokenizerTrainingTests(ITestOutputHelper output)
{
    public static ModelConfig TinyFmnist(TrainingConfig? t = null)
    {
        var c = ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json"));
        return t == null ? c : c with { Training = t };
    }

    [Fact]
    public void OneStepChangesWeightsAndLowersTheLossOnAFixedBatch()
    {
        var t = new TrainingConfig { Epochs = 10, BatchSize = 8, TokLr = 1e-3, Wp = 1e-9, CodeReinitEvery = 0 };
        var config = TinyFmnist(t);
        using var vae = new VqVae(config.Tokenizer);
        var batches = new ImageBatches(new SyntheticImages(8), new Preprocess(32, 1, Pad: true));
        using var tr = new TokenizerTrainer(config, vae, batches);
        var (img, _) = batches.Load(Enumerable.Range(0, 8).ToList(), train: false)!.Value;
        double Loss()
        {
            using var _ = no_grad();
            using var s = NewDisposeScope();
            var (rec, vq, _, _, _) = vae.TrainingForward(img);
            return (nn.functional.l1_loss(rec, img) + vq).item<float>();
        }
        double before = Loss();
        var w0 = TrainingFixtures.Snapshot(vae);
        var m = tr.Step();
        double after = Loss();
        output.WriteLine($"tokenizer loss {before:g6} -> {after:g6}; usage {m["usage_all"]:F1}%");
        Assert.Equal(before, m["loss"], 4);
        Assert.True(after < before, $"{before} -> {after}");
        var w1 = vae.state_dict();
        Assert.True(w0.Count(kv => !kv.Value.eq(w1[kv.Key]).all().item<bool>()) > 20);
        Assert.True(m["usage_s3"] > 0 && m["usage_all"] >= m["usage_s3"]);
    }

    [Fact]
    public void UnusedCodesAreReinitialisedFromEncoderOutputs()
    {
        var t = new TrainingConfig { Epochs = 10, BatchSize = 4, TokLr = 1e-4, Wp = 1e-9, CodeReinitEvery = 2 };
        var config = TinyFmnist(t);
        using var vae = new VqVae(config.Tokenizer);
        using (no_grad()) vae.Quantize.embedding.weight!.mul_(100);   // codes far from every encoder output: most unused
        var batches = new ImageBatches(new SyntheticImages(8), new Preprocess(32, 1, Pad: true));
        using var tr = new TokenizerTrainer(config, vae, batches);
        tr.Step();
        var m = tr.Step();
        output.WriteLine($"re-initialised {m["reinit"]} codes; usage before {m["usage_all"]:F1}%");
        Assert.True(m["reinit"] > 30);
        var m2 = tr.Step();
        Assert.True(m2["usage_all"] > m["usage_all"] || m2["usage_s3"] > m["usage_s3"], $"usage {m["usage_all"]} -> {m2["usage_all"]}");
    }

    [Fact]
    public void ScaleNormStartsFromTheFirstBatchsResidualRms()
    {
        var t = new TrainingConfig { Epochs = 10, BatchSize = 8, TokLr = 1e-3, Wp = 1e-9, CodeReinitEvery = 0, EmaDecay = 0.9 };
        var config = TinyFmnist(t);
        config = config with { Tokenizer = config.Tokenizer with { ScaleNorm = true } };
        using var vae = new VqVae(config.Tokenizer);
        var batches = new ImageBatches(new SyntheticImages(8), new Preprocess(32, 1, Pad: true));
        using var tr = new TokenizerTrainer(config, vae, batches);
        var (img, _) = batches.Load(Enumerable.Range(0, 8).ToList(), train: false)!.Value;
        float[] want;
        using (no_grad())
        using (NewDisposeScope()) want = vae.TrainingForward(img).rms_S.data<float>().ToArray();   // the batch holds all 8 images
        Assert.Equal(new float[] { 1, 1, 1, 1 }, vae.Quantize.ScaleRms!.data<float>().ToArray());
        tr.Step();
        var got = vae.Quantize.ScaleRms!.data<float>().ToArray();
        output.WriteLine($"residual RMS per scale {string.Join(" ", got.Select(x => x.ToString("g4", CultureInfo.InvariantCulture)))}");
        Assert.Equal(want, got, new ToleranceComparer(1e-5));
        Assert.Equal(got, tr.ExportedVae.Quantize.ScaleRms!.data<float>().ToArray());   // model.pth's average holds this step's values
        tr.Step();
        Assert.NotEqual(got, vae.Quantize.ScaleRms!.data<float>().ToArray());
    }

    [Fact]
    public void DecoderOnlyTrainingKeepsEveryTokenAndChangesOnlyTheDecoder()
    {
        var t = new TrainingConfig
        {
            Epochs = 10, BatchSize = 8, TokLr = 1e-3, Wp = 1e-9, CodeReinitEvery = 0, TokTrain = "decoder", DiscWeight = 0.5,
            DiscLayers = 2, DiscChannels = 8, EmaDecay = 0.99
        };
        var config = TinyFmnist(t);
        config = config with { Tokenizer = config.Tokenizer with { ScaleNorm = true } };
        using var vae = new VqVae(config.Tokenizer);
        using (no_grad()) vae.Quantize.ScaleRms!.copy_(tensor(new float[] { 0.9f, 0.7f, 0.5f, 0.3f }));   // a trained tokenizer's RMS
        var batches = new ImageBatches(new SyntheticImages(8), new Preprocess(32, 1, Pad: true));
        var (img, _) = batches.Load(Enumerable.Range(0, 8).ToList(), train: false)!.Value;
        var tokens0 = vae.ImgToIdxBl(img).Select(x => x.clone()).ToList();
        var rec0 = vae.ImgToReconstructedImg(img).clone();
        var w0 = TrainingFixtures.Snapshot(vae);
        using (var tr = new TokenizerTrainer(config, vae, batches))
        {
            for (int i = 0; i < 3; i++) Assert.True(double.IsFinite(tr.Step()["g_loss"]));
            // the exported average: the frozen parts copied bitwise (an averaged w drifts by rounding), the decoder averaged
            var avg = tr.ExportedVae.state_dict();
            Assert.All(w0.Keys.Where(k => !k.StartsWith("decoder.", StringComparison.Ordinal) && !k.StartsWith("post_quant_conv.", StringComparison.Ordinal)),
                k => Assert.True(w0[k].eq(avg[k]).all().item<bool>(), $"{k} moved in the average"));
            Assert.Contains(w0.Keys, k => k.StartsWith("decoder.", StringComparison.Ordinal) && !w0[k].eq(avg[k]).all().item<bool>());
        }
        vae.eval();
        var w1 = vae.state_dict();
        var changed = w0.Keys.Where(k => !w0[k].eq(w1[k]).all().item<bool>()).ToList();
        output.WriteLine($"changed {changed.Count} of {w0.Count} tensors");
        Assert.NotEmpty(changed);
        Assert.All(changed, k => Assert.True(k.StartsWith("decoder.", StringComparison.Ordinal) || k.StartsWith("post_quant_conv.", StringComparison.Ordinal),
            k));
        Assert.Contains(changed, k => k.StartsWith("post_quant_conv.", StringComparison.Ordinal));
        var tokens1 = vae.ImgToIdxBl(img);
        for (int si = 0; si < tokens0.Count; si++) Assert.True(tokens0[si].eq(tokens1[si]).all().item<bool>(), $"scale {si}: tokens changed");
        Assert.False(rec0.eq(vae.ImgToReconstructedImg(img)).all().item<bool>());
    }

    [Fact]
    public void DecoderOnlyTrainingRefusesCodeReinitialisation()
    {
        var t = new TrainingConfig { TokTrain = "decoder", CodeReinitEvery = 50 };
        var e = Assert.Throws<ConfigException>(() => t.Validate());
        Assert.Contains("code_reinit_every", e.Message);
        Assert.Contains("tok_train", Assert.Throws<ConfigException>(() => (t with { TokTrain = "encoder" }).Validate()).Message);
    }

    [Fact]
    public void SnapshotsAndClocksCoverTheWholeRunAcrossAResume()
    {
        var t = new TrainingConfig { Epochs = 2, BatchSize = 4, TokLr = 1e-3, CodeReinitEvery = 0, LogEvery = 1 };
        var config = TinyFmnist(t);
        var data = new SyntheticImages(8);
        string dir = Fixtures.TempDir();
        TokenizerTrainer New(VqVae v) => new(config, v, new ImageBatches(data, new Preprocess(32, 1, Pad: true)));
        var every2 = new RunOptions { SnapshotEvery = 2, TensorBoard = false };
        using (var v = new VqVae(config.Tokenizer))
        using (var tr = New(v))
            Assert.Equal(RunOutcome.StoppedAtStep, TrainingRun.Run(tr, dir, new RunOptions { StopAfter = 3, SnapshotEvery = 2, TensorBoard = false }));
        Assert.False(File.Exists(Path.Combine(dir, TrainingRun.RunFile)));   // not complete yet
        double firstPart;
        using (var v = new VqVae(config.Tokenizer))
        using (var tr = New(v))
        {
            tr.Restore(dir);
            firstPart = tr.TrainSeconds;
            Assert.True(firstPart > 0 && tr.TrainCpuSeconds > 0, $"clocks after 3 steps: {firstPart} s, {tr.TrainCpuSeconds} CPU s");
            Assert.Equal(RunOutcome.Completed, TrainingRun.Run(tr, dir, every2));
        }
        string snaps = Path.Combine(dir, Trainer.SnapshotDir);
        Assert.Equal(new[] { "model-step000002.pth", "model-step000004.pth" }, Directory.GetFiles(snaps, "*.pth").Select(Path.GetFileName).Order());
        var last = Mvar.IO.Checkpoint.LoadStateDict(Path.Combine(snaps, Trainer.SnapshotFile(4)));
        var model = Mvar.IO.Checkpoint.LoadStateDict(Path.Combine(dir, Trainer.WeightsFile));
        Assert.Equal(model.Keys.Order(), last.Keys.Order());
        Assert.All(model, kv => Assert.True(kv.Value.eq(last[kv.Key]).all().item<bool>(), kv.Key));
        var wall = CsvLog.ReadColumn(Path.Combine(snaps, TrainingRun.SnapshotsFile), "wall_s");
        Assert.Equal(new long[] { 2, 4 }, wall.Select(r => r.step));
        Assert.True(wall[0].value > 0 && wall[0].value <= firstPart && wall[1].value > firstPart, string.Join(" ", wall));
        using var run = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, TrainingRun.RunFile)));
        Assert.Equal(4, run.RootElement.GetProperty("steps").GetInt64());
        Assert.True(run.RootElement.GetProperty("wall_seconds").GetDouble() >= wall[1].value - 1e-3);
        Assert.True(run.RootElement.GetProperty("cpu_seconds").GetDouble() > 0);
        Assert.False(run.RootElement.TryGetProperty("analytic_train_flops", out _));   // counted for transformers only
    }

    sealed class ToleranceComparer(double tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(float x) => 0;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ResumedTokenizerRunIsExact(bool scaleNorm)
    {
        var t = new TrainingConfig { Epochs = 2, BatchSize = 4, TokLr = 1e-3, CodeReinitEvery = 2, Hflip = true, SmallImages = "resize", LogEvery = 1 };
        var config = TinyFmnist(t);
        config = config with { Tokenizer = config.Tokenizer with { ScaleNorm = scaleNorm } };
        var data = new SyntheticImages(8);
        var a = new List<double>(); var b = new List<double>();
        string d1 = Fixtures.TempDir(), d2 = Fixtures.TempDir();
        TokenizerTrainer New(VqVae v) => new(config, v, new ImageBatches(data, new Preprocess(32, 1, HFlip: true)));
        Dictionary<string, Tensor> init;
        using (var v0 = new VqVae(config.Tokenizer)) init = TrainingFixtures.Snapshot(v0);
        VqVae Fresh() { var v = new VqVae(config.Tokenizer); Mvar.IO.StateDictLoader.LoadInto(v, init, "init"); return v; }
        using (var v = Fresh())
        using (var tr = New(v)) TrainingRun.Run(tr, d1, new RunOptions { OnStep = (_, m) => a.Add(m["loss"]), TensorBoard = false });
        using (var v = Fresh())
        using (var tr = New(v)) TrainingRun.Run(tr, d2, new RunOptions { StopAfter = 3, OnStep = (_, m) => b.Add(m["loss"]), TensorBoard = false });
        using (var v = new VqVae(config.Tokenizer))   // different initial weights: the checkpoint must overwrite them
        using (var tr = New(v)) { tr.Restore(d2); TrainingRun.Run(tr, d2, new RunOptions { OnStep = (_, m) => b.Add(m["loss"]), TensorBoard = false }); }
        Assert.Equal(4, a.Count);
        Assert.Equal(a, b);
    }
}
