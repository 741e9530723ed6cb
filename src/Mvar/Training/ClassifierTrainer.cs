using Mvar.Data;
using Mvar.Metrics;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Training;

/// <summary>Settings of <see cref="ClassifierTrainer"/>.</summary>
public sealed record ClassifierOptions(int Epochs = 4, int BatchSize = 128, double Lr = 2e-3, double WeightDecay = 1e-4, int Seed = 0);

/// <summary>One epoch's figures.</summary>
public sealed record ClassifierEpoch(int Epoch, double TrainLoss, double TestAccuracy, double Seconds);

/// <summary>
/// Trains <see cref="FashionClassifier"/> (the feature network of the metrics) with AdamW and a cosine learning rate,
/// random horizontal flips, and reports test accuracy after each epoch (and the steps done, with their loss, through
/// <c>progress</c>). Deterministic for a seed.
/// </summary>
public static class ClassifierTrainer
{
    public static List<ClassifierEpoch> Train(FashionClassifier net, IImageDataset train, IImageDataset test, ClassifierOptions o,
        IProgress<WorkProgress>? progress = null, Action<ClassifierEpoch>? onEpoch = null)
    {
        var pre = new Preprocess(FashionClassifier.Side, 1, MidReso: 1.0, HFlip: true, Pad: true);
        var trainBatches = new ImageBatches(train, pre);
        var order = new EpochOrder(train.Count, o.BatchSize, o.Seed);
        var opt = optim.AdamW(net.parameters(), o.Lr, weight_decay: o.WeightDecay);
        long total = (long)o.Epochs * order.ItersPerEpoch;
        var results = new List<ClassifierEpoch>();
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            double lossSum = 0;
            net.train();
            for (int it = 0; it < order.ItersPerEpoch; it++)
            {
                using var scope = NewDisposeScope();
                long step = (long)epoch * order.ItersPerEpoch + it;
                foreach (var g in opt.ParamGroups) g.LearningRate = o.Lr * 0.5 * (1 + Math.Cos(Math.PI * step / total));
                var (x, y) = trainBatches.Load(order.Batch(step), train: true, o.Seed, epoch)!.Value;
                var loss = F.cross_entropy(net.forward(x), y);
                net.zero_grad(set_to_none: true);
                loss.backward();
                opt.step();
                double l = loss.item<float>();
                lossSum += l;
                progress?.Report(new WorkProgress(step + 1, total, l));
            }
            var e = new ClassifierEpoch(epoch, lossSum / order.ItersPerEpoch, Accuracy(net, test), sw.Elapsed.TotalSeconds);
            results.Add(e);
            onEpoch?.Invoke(e);
        }
        net.eval();
        return results;
    }

    /// <summary>Top-1 accuracy (0..1) of the network on a labelled data set.</summary>
    public static double Accuracy(FashionClassifier net, IImageDataset data, int batchSize = 500)
    {
        var batches = new ImageBatches(data, new Preprocess(FashionClassifier.Side, 1, MidReso: 1.0, Pad: true));
        long correct = 0;
        for (int i = 0; i < data.Count; i += batchSize)
        {
            using var scope = NewDisposeScope();
            var idx = Enumerable.Range(i, Math.Min(batchSize, data.Count - i)).ToArray();
            var (x, y) = batches.Load(idx, train: false)!.Value;
            var (_, probs) = net.Score(x);
            correct += probs.argmax(1).eq(y).sum().item<long>();
        }
        return (double)correct / data.Count;
    }
}
