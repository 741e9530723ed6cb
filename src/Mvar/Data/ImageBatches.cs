using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Data;

/// <summary>Reads and pre-processes batches of images of a data set, applying the bad-file policy.</summary>
public sealed class ImageBatches(IImageDataset data, Preprocess preprocess, BadFilePolicy policy = BadFilePolicy.Stop,
    Action<string>? warn = null)
{
    public IImageDataset Data => data;
    public Preprocess Preprocess => preprocess;
    readonly HashSet<int> reported = new();

    /// <summary>
    /// Images (B', C, size, size) in [-1, 1] and labels (B') int64 of the given samples. Augmentation randomness
    /// comes from (seed, index, epoch), so a batch is the same whenever it is read. Unreadable samples stop the run
    /// (<see cref="DataFileException"/>) or, under <see cref="BadFilePolicy.Skip"/>, are reported once and left
    /// out (B' &lt; B; null when nothing is left).
    /// </summary>
    public (Tensor images, Tensor labels)? Load(IReadOnlyList<int> indices, bool train, int seed = 0, long epoch = 0)
    {
        var imgs = new List<Tensor>();
        var labels = new List<long>();
        using var scope = NewDisposeScope();
        foreach (int i in indices)
        {
            byte[] px; int label;
            try
            {
                var raw = data.Read(i, preprocess.Channels);
                px = preprocess.Apply(raw, train, new Random(EpochOrder.Mix(seed, epoch, i)));
                label = raw.Label;
            }
            catch (DataFileException e) when (policy == BadFilePolicy.Skip)
            {
                lock (reported) if (reported.Add(i)) warn?.Invoke($"skipping unreadable sample {e.Message}");
                continue;
            }
            imgs.Add(ImageFiles.PixelsToTensor(px, preprocess.Size, preprocess.Size, preprocess.Channels));
            labels.Add(label);
        }
        if (imgs.Count == 0) return null;
        var x = stack(imgs).MoveToOuterDisposeScope();
        var y = tensor(labels.ToArray(), dtype: ScalarType.Int64).MoveToOuterDisposeScope();
        return (x, y);
    }
}
