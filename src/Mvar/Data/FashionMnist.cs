using System.IO.Compression;

namespace Mvar.Data;

/// <summary>
/// MNIST-style IDX files (Fashion-MNIST: 28x28 grey images, labels 0..9), gzip-compressed or not. A gzip file is
/// decompressed once to a cache file beside the cache directory so that samples are read by seeking, one at a time.
/// </summary>
public sealed class IdxDataset : IImageDataset
{
    public const string DefaultDir = "/usr/share/datasets/fashion-mnist";
    readonly string imagesPath, labelsPath;
    readonly string imagesData;          // uncompressed copy (or the file itself)
    readonly byte[] labels;
    readonly int rows, cols;
    readonly long dataOffset;

    public int Count { get; }
    public int NumClasses { get; }
    public int Width => cols;
    public int Height => rows;

    /// <param name="split">"train" or "t10k" when <paramref name="pathOrDir"/> is a directory holding the four files</param>
    public static IdxDataset Open(string pathOrDir, string split = "train", string? cacheDir = null)
    {
        if (Directory.Exists(pathOrDir))
        {
            string Find(string kind)
            {
                foreach (var name in new[] { $"{split}-{kind}-ubyte.gz", $"{split}-{kind}-ubyte", $"{split}-{kind}.idx" })
                {
                    var candidates = Directory.GetFiles(pathOrDir, name.Replace("-ubyte", "*-ubyte"));
                    if (candidates.Length > 0) return candidates.OrderBy(f => f, StringComparer.Ordinal).First();
                }
                throw new
                    MvarException($"{pathOrDir}: no {split}-{kind}-*-ubyte[.gz] file (an IDX data set folder holds {split}-images-idx3-ubyte.gz and "
                    + $"{split}-labels-idx1-ubyte.gz)");
            }
            return new IdxDataset(Find("images"), Find("labels"), cacheDir);
        }
        throw new MvarException($"IDX data set folder not found: {pathOrDir}");
    }

    public IdxDataset(string imagesPath, string labelsPath, string? cacheDir = null)
    {
        this.imagesPath = imagesPath; this.labelsPath = labelsPath;
        labels = ReadAllMaybeGzip(labelsPath);
        if (labels.Length < 8 || ReadBigEndian(labels, 0) != 0x00000801)
            throw new DataFileException(labelsPath, "not an IDX label file (magic 0x00000801 expected)");
        int nLabels = ReadBigEndian(labels, 4);
        if (labels.Length < 8 + nLabels) throw new DataFileException(labelsPath, $"truncated: {nLabels} labels announced, {labels.Length - 8} present");

        imagesData = imagesPath.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? Decompressed(imagesPath, cacheDir) : imagesPath;
        using (var f = File.OpenRead(imagesData))
        {
            var head = new byte[16];
            if (f.Read(head) != 16 || ReadBigEndian(head, 0) != 0x00000803)
                throw new DataFileException(imagesPath, "not an IDX image file (magic 0x00000803 expected)");
            int n = ReadBigEndian(head, 4);
            rows = ReadBigEndian(head, 8); cols = ReadBigEndian(head, 12);
            if (n != nLabels)
                throw new
                    MvarException($"{imagesPath} holds {n} images but {labelsPath} holds {nLabels} labels: the label file does not belong to the image file");
            if (f.Length < 16 + (long)n * rows * cols)
                throw new DataFileException(imagesPath, $"truncated: {n} images of {rows}x{cols} announced, the file is {f.Length} bytes");
            Count = n;
        }
        dataOffset = 16;
        int max = 0;
        for (int i = 0; i < Count; i++) max = Math.Max(max, labels[8 + i]);
        NumClasses = max + 1;
    }

    public string Describe(int index) => $"{imagesPath}#{index}";
    public int LabelOf(int index) => labels[8 + index];

    public RawImage Read(int index, int channels)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        var px = new byte[rows * cols];
        using (var f = new FileStream(imagesData, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess))
        {
            f.Position = dataOffset + (long)index * rows * cols;
            f.ReadExactly(px);
        }
        if (channels == 3)
        {
            var rgb = new byte[px.Length * 3];
            for (int i = 0; i < px.Length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = px[i];
            px = rgb;
        }
        return new RawImage(px, cols, rows, channels, LabelOf(index));
    }

    static int ReadBigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];

    static byte[] ReadAllMaybeGzip(string path)
    {
        IO.FileKinds.RequireRegularFile(path, "data file");
        try
        {
            if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return File.ReadAllBytes(path);
            using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            return ms.ToArray();
        }
        catch (InvalidDataException e) { throw new DataFileException(path, $"corrupt gzip data ({e.Message})", e); }
    }

    /// <summary>The uncompressed copy of a .gz file in the cache folder (made once, atomically).</summary>
    static string Decompressed(string gzPath, string? cacheDir)
    {
        IO.FileKinds.RequireRegularFile(gzPath, "data file");
        var info = new FileInfo(gzPath);
        cacheDir ??= Path.Combine(Path.GetTempPath(), "mvar-data-cache");
        Directory.CreateDirectory(cacheDir);
        string key = $"{Path.GetFileNameWithoutExtension(gzPath)}-{info.Length}-{info.LastWriteTimeUtc.Ticks}";
        string target = Path.Combine(cacheDir, key);
        if (File.Exists(target)) return target;
        try
        {
            IO.AtomicFile.Write(target, s =>
            {
                using var gz = new GZipStream(File.OpenRead(gzPath), CompressionMode.Decompress);
                gz.CopyTo(s);
            });
        }
        catch (InvalidDataException e) { throw new DataFileException(gzPath, $"corrupt gzip data ({e.Message})", e); }
        return target;
    }
}
