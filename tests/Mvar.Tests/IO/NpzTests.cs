using System.IO.Compression;
using System.Text;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Tests.IO;

public class NpzTests
{
    [Fact]
    public void SampleArraysRoundTripInTheEvaluationSuiteLayout()
    {
        string path = Path.Combine(Fixtures.TempDir(), "samples.npz");
        var images = rand(5, 3, 8, 6) * 2 - 1;
        var u8 = Npz.ToUint8NHWC(images);
        Assert.Equal(new long[] { 5, 8, 6, 3 }, u8.shape);
        Npz.Save(path, new Dictionary<string, Tensor> { ["arr_0"] = u8, ["labels"] = arange(5) });
        var back = Npz.Load(path);
        TensorAssert.Equal(u8, back["arr_0"], "arr_0");
        TensorAssert.Equal(arange(5), back["labels"], "labels");
        TensorAssert.Close(images, Npz.FromUint8NHWC(back["arr_0"]), 1.0 / 127.5 / 2 + 1e-6, "images");
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(["arr_0.npy", "labels.npy"], zip.Entries.Select(e => e.FullName));
    }

    [Fact]
    public void ReadsANumpyWrittenHeader()
    {
        // the bytes numpy.save writes for np.arange(6, dtype='<f4').reshape(2, 3) (format 1.0, header padded to 64)
        string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        header = header.PadRight(64 - 10 - 1) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange(Encoding.ASCII.GetBytes("NUMPY"));
        bytes.AddRange([1, 0, (byte)header.Length, 0]);
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        for (int i = 0; i < 6; i++) bytes.AddRange(BitConverter.GetBytes((float)i));
        var t = Npz.ReadNpy(bytes.ToArray(), "x.npy");
        TensorAssert.Equal(arange(6, dtype: ScalarType.Float32).reshape(2, 3), t);
    }

    [Fact]
    public void BadFilesAreClearErrors()
    {
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "bad.npz");
        File.WriteAllText(path, "nope");
        Assert.Contains("bad.npz", Assert.Throws<MvarException>(() => Npz.Load(path)).Message);
        Assert.Contains("not found", Assert.Throws<MvarException>(() => Npz.Load(Path.Combine(dir, "none.npz"))).Message);
        var e = Assert.Throws<MvarException>(() => Npz.ReadNpy(new byte[] { 0x93, 78, 85, 77, 80, 89, 1, 0, 200, 0 }, "t.npy"));
        Assert.Contains("truncated", e.Message);
    }
}
