using System.IO.Compression;
using Mvar.Data;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

/// <summary>A fact that is skipped (with the reason) when Fashion-MNIST is not installed, unless MVAR_TEST_REQUIRE_ALL=1.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        Skip ??= TestRequirements.Skip(TestRequirements.FashionMnistMissing);
    }
}

public class DataTests
{
    static void WriteIdx(string path, int magic, int[] dims, byte[] data, bool gz = true)
    {
        using var ms = new MemoryStream();
        void BE(int v) { ms.WriteByte((byte)(v >> 24)); ms.WriteByte((byte)(v >> 16)); ms.WriteByte((byte)(v >> 8)); ms.WriteByte((byte)v); }
        BE(magic); foreach (var d in dims) BE(d);
        ms.Write(data);
        if (!gz) { File.WriteAllBytes(path, ms.ToArray()); return; }
        using var f = File.Create(path);
        using var z = new GZipStream(f, CompressionLevel.Fastest);
        z.Write(ms.ToArray());
    }

    static string MakeIdx(int n, int labelCount, string split = "train")
    {
        string dir = Fixtures.TempDir();
        var px = new byte[n * 28 * 28];
        for (int i = 0; i < n; i++) px[i * 784 + i] = (byte)(10 + i);   // a marker pixel per image
        WriteIdx(Path.Combine(dir, $"{split}-images-idx3-ubyte.gz"), 0x803, [n, 28, 28], px);
        WriteIdx(Path.Combine(dir, $"{split}-labels-idx1-ubyte.gz"), 0x801, [labelCount], Enumerable.Range(0,
            labelCount).Select(i => (byte)(i % 10)).ToArray());
        return dir;
    }

    [Fact]
    public void IdxFilesAreReadOneSampleAtATime()
    {
        string dir = MakeIdx(5, 5);
        var d = IdxDataset.Open(dir, "train", Fixtures.TempDir());
        Assert.Equal(5, d.Count);
        Assert.Equal(5, d.NumClasses);
        var s = d.Read(3, 1);
        Assert.Equal((28, 28, 3), (s.Width, s.Height, s.Label));
        Assert.Equal(13, s.Pixels[3]);
        Assert.Equal(13, d.Read(3, 3).Pixels[9]);   // grey to RGB
        Assert.Contains("#3", d.Describe(3));
    }

    [Fact]
    public void MismatchedLabelFileIsAClearError()
    {
        string dir = MakeIdx(5, 4);
        var e = Assert.Throws<MvarException>(() => IdxDataset.Open(dir, "train", Fixtures.TempDir()));
        Assert.Contains("5 images", e.Message);
        Assert.Contains("4 labels", e.Message);
    }

    [Fact]
    public void CorruptGzipIsReportedWithItsPath()
    {
        string dir = MakeIdx(5, 5);
        string img = Path.Combine(dir, "train-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(img);
        File.WriteAllBytes(img, bytes.Take(bytes.Length / 2).ToArray());
        var e = Assert.ThrowsAny<MvarException>(() => IdxDataset.Open(dir, "train", Fixtures.TempDir()));
        Assert.Contains(img, e.Message);
    }

    static string MakeFolder(bool corrupt = false, bool emptyClass = false)
    {
        string root = Fixtures.TempDir();
        foreach (var c in new[] { "cat", "dog" })
        {
            Directory.CreateDirectory(Path.Combine(root, c));
            if (emptyClass && c == "dog") continue;
            for (int i = 0; i < 3; i++)
            {
                using var t = full(3, 40, 50, i * 0.3 - 0.5);
                ImageFiles.SavePng(t, Path.Combine(root, c, $"{i}.png"));
            }
        }
        if (corrupt) File.WriteAllBytes(Path.Combine(root, "dog", "1.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        return root;
    }

    [Fact]
    public void ImageFolderClassesAreSortedSubFoldersWithVarPreprocessing()
    {
        var d = new ImageFolderDataset(MakeFolder());
        Assert.Equal(["cat", "dog"], d.Classes);
        Assert.Equal(6, d.Count);
        Assert.Equal(1, d.LabelOf(4));
        var batches = new ImageBatches(d, new Preprocess(32, 3, HFlip: true));
        var (x, y) = batches.Load([0, 4], train: true)!.Value;
        Assert.Equal(new long[] { 2, 3, 32, 32 }, x.shape);
        Assert.Equal(new long[] { 0, 1 }, y.data<long>().ToArray());
        Assert.True(x.min().item<float>() >= -1 && x.max().item<float>() <= 1);
    }

    [Fact]
    public void CorruptImageStopsTheRunOrIsSkippedAndReported()
    {
        var d = new ImageFolderDataset(MakeFolder(corrupt: true));
        string bad = Path.Combine(d.Describe(4));
        var stop = new ImageBatches(d, new Preprocess(32, 3));
        var e = Assert.Throws<DataFileException>(() => stop.Load([3, 4, 5], train: false));
        Assert.Equal(bad, e.Path);
        Assert.Contains(bad, e.Message);
        var warnings = new List<string>();
        var skip = new ImageBatches(d, new Preprocess(32, 3), BadFilePolicy.Skip, warnings.Add);
        var (x, _) = skip.Load([3, 4, 5], train: false)!.Value;
        Assert.Equal(2, x.shape[0]);
        skip.Load([4], train: false);
        Assert.Single(warnings);
        Assert.Contains(bad, warnings[0]);
    }

    [Fact]
    public void EmptyClassFolderIsAClearError()
    {
        string root = MakeFolder(emptyClass: true);
        var e = Assert.Throws<MvarException>(() => new ImageFolderDataset(root));
        Assert.Contains(Path.Combine(root, "dog"), e.Message);
        Assert.Contains("no image files", e.Message);
    }

    [Fact]
    public void PreprocessPadsSmallGreyImagesAndCropsLargeOnes()
    {
        var raw = new RawImage(Enumerable.Repeat((byte)255, 28 * 28).ToArray(), 28, 28, 1, 0);
        var padded = new Preprocess(32, 1, Pad: true).Apply(raw, train: false, new Random(0));
        Assert.Equal(32 * 32, padded.Length);
        Assert.Equal(0, padded[0]);
        Assert.Equal(255, padded[2 * 32 + 2]);
        var resized = new Preprocess(32, 1).Apply(raw, train: true, new Random(0));   // Lanczos to 36, random 32 crop
        Assert.Equal(32 * 32, resized.Length);
        Assert.True(resized.All(v => v >= 250));
    }

    [Fact]
    public void EpochOrderIsASeededPermutationPerEpoch()
    {
        var o = new EpochOrder(10, 3, seed: 7);
        Assert.Equal(3, o.ItersPerEpoch);
        var p0 = o.Permutation(0).ToArray(); var p1 = o.Permutation(1).ToArray();
        Assert.Equal(Enumerable.Range(0, 10), p0.OrderBy(x => x));
        Assert.NotEqual(p0, p1);
        Assert.Equal(p1.AsSpan(3, 3).ToArray(), o.Batch(4));
        Assert.Equal(p0, new EpochOrder(10, 3, seed: 7).Permutation(0));
    }

    [FashionMnistFact]
    public void FashionMnistIsReadWithItsLabels()
    {
        var d = DataSets.Open("fashion-mnist:t10k");
        Assert.Equal(10000, d.Count);
        Assert.Equal(10, d.NumClasses);
        Assert.Equal(9, d.LabelOf(0));   // the first t10k image is an ankle boot
        var s = d.Read(0, 1);
        Assert.Equal(784, s.Pixels.Length);
        Assert.Contains(s.Pixels, v => v > 100);
    }
}

public class DataSpecTests
{
    [Fact]
    public void ARunRecordsItsDataFolderAbsolutelySoAResumeFromElsewhereOpensTheSameData()
    {
        string cwd = Environment.CurrentDirectory;
        Assert.Equal(Path.Combine(cwd, "imgs"), DataSets.Absolute("imgs"));
        Assert.Equal("idx:" + Path.Combine(cwd, "some/idx") + ":t10k", DataSets.Absolute("idx:some/idx:t10k"));
        Assert.Equal("idx:/data/mnist", DataSets.Absolute("idx:/data/mnist"));
        Assert.Equal("fashion-mnist", DataSets.Absolute("fashion-mnist"));
        Assert.Equal("fashion-mnist:t10k", DataSets.Absolute("fashion-mnist:t10k"));
        Assert.Equal("/abs/folder", DataSets.Absolute("/abs/folder"));
    }
}
