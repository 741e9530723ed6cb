using System.CommandLine;
using Mvar.Data;
using Mvar.IO;
using Mvar.Metrics;
using Mvar.Training;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar train classifier</c>: the Fashion-MNIST feature network of the metrics.</summary>
public static class TrainClassifierCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "training images: fashion-mnist, idx:DIR[:split] or an image folder",
            DefaultValueFactory = _ => "fashion-mnist"
        };
        var test = new Option<string>("--test") { Description = "test images for the accuracy", DefaultValueFactory = _ => "fashion-mnist:t10k" };
        var output = new Option<string>("--out") { Description = "the weights to write (.safetensors or .pth)", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "passes over the training images", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 2e-3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var cmd = new Command("classifier", "Train the Fashion-MNIST classifier whose features and probabilities the metrics use")
            { data, test, output, epochs, batch, lr, seed };
        return cmd.WithAction(p =>
        {
            string outPath = p.GetValue(output)!;
            TokenizerOptions.CheckWritable(outPath);
            if (p.GetValue(epochs) < 1) throw new MvarException("--epochs must be at least 1");
            var train = DataSets.Open(p.GetValue(data)!);
            var testSet = DataSets.Open(p.GetValue(test)!);
            if (train.NumClasses != FashionClassifier.Classes || testSet.NumClasses != FashionClassifier.Classes)
                throw new
                    MvarException($"the classifier has {FashionClassifier.Classes} classes; the data has {train.NumClasses} (train) and "
                    + $"{testSet.NumClasses} (test)");
            using var net = new FashionClassifier();
            var options = new ClassifierOptions(p.GetValue(epochs), p.GetValue(batch), p.GetValue(lr), Seed: p.GetValue(seed));
            long steps = (long)options.Epochs * new EpochOrder(train.Count, options.BatchSize, options.Seed).ItersPerEpoch;
            ProgressDisplay.Run("classifier", "steps", steps, plainEvery: 50, d => ClassifierTrainer.Train(net, train, testSet, options, progress: d,
                onEpoch: e => d.WriteLine($"epoch {e.Epoch + 1}: train loss {e.TrainLoss:F4}, test accuracy {e.TestAccuracy:P2} ({e.Seconds:F0}s)")));
            Checkpoint.SaveStateDict(outPath, net.state_dict());
            Console.WriteLine($"wrote {outPath}");
            return 0;
        });
    }
}
