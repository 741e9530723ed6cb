using Mvar.Data;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>
/// Sets of images to score, read in batches of (B, C, H, W) in [-1, 1]: an .npz (<c>arr_0</c>, uint8 N x H x W x C, the
/// evaluation suite's layout), a data-set spec (<c>fashion-mnist-test</c> = <c>fashion-mnist:t10k</c>, <c>fashion-mnist</c>,
/// <c>idx:DIR[:split]</c>), a folder with one sub-folder per class, or a flat folder of PNG/JPEG files of one size.
/// </summary>
public static class ImageSets
{
    public static IEnumerable<Tensor> Batches(string spec, int batchSize = 250)
    {
        if (spec.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) return NpzBatches(spec, batchSize);
        if (spec == "fashion-mnist-test") spec = "fashion-mnist:t10k";
        if (spec.StartsWith("fashion-mnist", StringComparison.Ordinal) || spec.StartsWith("idx:",
            StringComparison.Ordinal)) return DataSetBatches(DataSets.Open(spec), batchSize);
        if (!Directory.Exists(spec)) throw new MvarException($"image set not found: {spec} (an .npz, a folder of images, or fashion-mnist-test)");
        if (Directory.EnumerateDirectories(spec).Any()) return DataSetBatches(DataSets.Open(spec), batchSize);
        return FolderBatches(spec, batchSize);
    }

    /// <summary>A short description that changes when the set's files change (for the reference-statistics cache).</summary>
    public static string Identity(string spec)
    {
        if (File.Exists(spec)) { var f = new FileInfo(spec); return $"{Path.GetFullPath(spec)}|{f.Length}|{f.LastWriteTimeUtc.Ticks}"; }
        if (Directory.Exists(spec))
        {
            var files = Directory.EnumerateFiles(spec, "*", SearchOption.AllDirectories).Select(p => new FileInfo(p)).ToList();
            return $"{Path.GetFullPath(spec)}|{files.Count}|{files.Sum(f => f.Length)}|{(files.Count == 0 ? 0 : files.Max(f => f.LastWriteTimeUtc.Ticks))}";
        }
        return spec;
    }

    static IEnumerable<Tensor> NpzBatches(string path, int batchSize)
    {
        var arrays = Npz.Load(path);
        if (!arrays.TryGetValue("arr_0", out var all))
            throw new MvarException($"{path}: no arr_0 array (the evaluation suite's sample layout); arrays: {string.Join(", ", arrays.Keys)}");
        if (all.dim() != 4 || all.dtype != ScalarType.Byte || all.shape[3] is not (1 or 3))
            throw new MvarException($"{path}: arr_0 must be uint8 N x H x W x 3 (or x 1), got {all.dtype} [{string.Join(", ", all.shape)}]");
        for (long i = 0; i < all.shape[0]; i += batchSize)
            yield return Npz.FromUint8NHWC(all.narrow(0, i, Math.Min(batchSize, all.shape[0] - i)));
    }

    static IEnumerable<Tensor> DataSetBatches(IImageDataset data, int batchSize)
    {
        // native size: pad/resize only to the first image's size, so the set's own resolution is kept
        var first = data.Read(0, 1);
        var batches = new ImageBatches(data, new Preprocess(Math.Max(first.Width, first.Height), 1, MidReso: 1.0, Pad: true));
        for (int i = 0; i < data.Count; i += batchSize)
            yield return batches.Load(Enumerable.Range(i, Math.Min(batchSize, data.Count - i)).ToArray(), train: false)!.Value.images;
    }

    static IEnumerable<Tensor> FolderBatches(string dir, int batchSize)
    {
        var files = Directory.EnumerateFiles(dir)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg",
                StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new MvarException($"{dir}: no PNG or JPEG images");
        int w0 = 0, h0 = 0;
        for (int i = 0; i < files.Count; i += batchSize)
        {
            var batch = new List<Tensor>();
            foreach (var f in files.Skip(i).Take(batchSize))
            {
                var (px, w, h) = ImageFiles.ReadPixels(f, 3);
                if (w0 == 0) (w0, h0) = (w, h);
                if (w != w0 || h != h0) throw new MvarException($"{f} is {w}x{h}, but the set's images are {w0}x{h0}");
                batch.Add(ImageFiles.PixelsToTensor(px, w, h, 3));
            }
            yield return stack(batch);
        }
    }
}
