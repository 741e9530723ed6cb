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
            var (rec, vq, _, _) = vae.TrainingForward(img);
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
    public void ResumedTokenizerRunIsExact()
    {
        var t = new TrainingConfig { Epochs = 2, BatchSize = 4, TokLr = 1e-3, CodeReinitEvery = 2, Hflip = true, SmallImages = "resize", LogEvery = 1 };
        var config = TinyFmnist(t);
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
