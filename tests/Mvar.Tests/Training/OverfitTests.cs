using Mvar.Data;
using Mvar.Tokenizer;
using Mvar.Training;
using Mvar.Transformer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

public class OverfitTests(ITestOutputHelper output)
{
    [FashionMnistFact]
    public void TransformerOverfitsAHandfulOfFashionMnistImagesToNearZeroLoss()
    {
        var t = new Mvar.Config.TrainingConfig
        {
            Epochs = 120, BatchSize = 4, Lr = 3e-3, CondDropRate = 0, DropPathRate = 0, Wp = 5, Sche = "lin0", Twd = 0, LogEvery = 50,
        };
        var config = TokenizerTrainingTests.TinyFmnist(t).WithArch("var");
        var all = DataSets.Open("fashion-mnist:t10k");
        var pick = Enumerable.Range(0, 100).GroupBy(all.LabelOf).Select(g => g.First()).Take(4).ToArray();   // 4 classes
        var data = new Picked(all, pick);
        // seeded: both networks start from torch's global generator, and an unlucky draw overfits more slowly
        manual_seed(0);
        using var vae = new VqVae(config.Tokenizer);   // a random tokenizer still gives fixed token maps to memorise
        var batches = new ImageBatches(data, new Preprocess(32, 1, Pad: true));
        var tokens = Fixtures.TempDir();
        long fp = TokenCache.Fingerprint(Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json"), config.Tokenizer, data,
            batches.Preprocess);
        TokenCache cache;
        using (no_grad()) cache = TokenCache.Build(Path.Combine(tokens, "tokens.cache"), fp, vae, batches);
        Assert.Equal(4, cache.Count);
        manual_seed(1);
        using var model = ScaleTransformer.Create(config);
        using var tr = new TransformerTrainer(config, model, vae.Quantize, cache);
        var lm = new List<double>();
        TrainingRun.Run(tr, Fixtures.TempDir(), new RunOptions { OnStep = (_, m) => lm.Add(m["Lm"]), TensorBoard = false });
        output.WriteLine($"Lm: first {lm[0]:F3}, after 60 {lm[59]:F3}, last {lm[^1]:F4}");
        Assert.True(lm[^1] < 0.05, $"mean token cross-entropy still {lm[^1]}");
    }
}

/// <summary>Chosen samples of a data set.</summary>
public sealed class Picked(IImageDataset inner, int[] indices) : IImageDataset
{
    public int Count => indices.Length;
    public int NumClasses => inner.NumClasses;
    public string Describe(int index) => inner.Describe(indices[index]);
    public int LabelOf(int index) => inner.LabelOf(indices[index]);
    public RawImage Read(int index, int channels) => inner.Read(indices[index], channels);
}
