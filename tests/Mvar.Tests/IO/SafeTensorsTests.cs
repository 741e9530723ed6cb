using System.Buffers.Binary;
using System.Text;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Tests.IO;

public class SafeTensorsTests
{
    static Dictionary<string, Tensor> Sample() => new()
    {
        ["a.weight"] = arange(12, dtype: ScalarType.Float32).reshape(3, 4),
        ["b.bias"] = tensor(new double[] { 1.5, -2.25 }),
        ["c.half"] = ones(2, 2, dtype: ScalarType.Float16) * 3,
        ["d.bf16"] = full(3, 0.5, dtype: ScalarType.BFloat16),
        ["e.idx"] = tensor(new long[] { 1, long.MaxValue, -7 }),
        ["f.mask"] = tensor(new bool[] { true, false, true }),
        ["g.bytes"] = tensor(new byte[] { 0, 255 }),
        ["h.scalar"] = tensor(42.0f),
        ["i.empty"] = zeros(0, 3),
        ["j.strided"] = arange(6, dtype: ScalarType.Float32).reshape(2, 3).t(),
    };

    [Fact]
    public void RoundTripKeepsNamesDtypesShapesAndValues()
    {
        string path = Path.Combine(Fixtures.TempDir(), "t.safetensors");
        var original = Sample();
        SafeTensors.Save(path, original, new Dictionary<string, string> { ["format"] = "pt" });
        var loaded = SafeTensors.Load(path);
        Assert.Equal(original.Keys.OrderBy(k => k), loaded.Keys.OrderBy(k => k));
        foreach (var (k, t) in original)
        {
            Assert.Equal(t.dtype, loaded[k].dtype);
            TensorAssert.Equal(t, loaded[k], k);
        }
        // header length is a multiple of 8 as the format recommends
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8);
    }

    [Fact]
    public void PthRoundTripThroughTheWriterAndReader()
    {
        string path = Path.Combine(Fixtures.TempDir(), "t.pth");
        var original = Sample();
        Checkpoint.SaveStateDict(path, original);
        var loaded = Checkpoint.LoadStateDict(path);
        Assert.Equal(original.Keys, loaded.Keys);
        foreach (var (k, t) in original) TensorAssert.Equal(t, loaded[k], k);
    }

    [Fact]
    public void ConvertingTheFixtureBothWaysIsLossless()
    {
        string dir = Fixtures.TempDir();
        var original = Checkpoint.LoadStateDict(Fixtures.Parity("vae.pth"));
        Checkpoint.SaveStateDict(Path.Combine(dir, "vae.safetensors"), original);
        Checkpoint.SaveStateDict(Path.Combine(dir, "vae.pth"), Checkpoint.LoadStateDict(Path.Combine(dir, "vae.safetensors")));
        var back = Checkpoint.LoadStateDict(Path.Combine(dir, "vae.pth"));
        Assert.Equal(original.Keys, back.Keys);
        foreach (var (k, t) in original) TensorAssert.Equal(t, back[k], k);
    }

    static string WriteRaw(string header, int dataBytes)
    {
        string path = Path.Combine(Fixtures.TempDir(), "bad.safetensors");
        var h = Encoding.UTF8.GetBytes(header);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        File.WriteAllBytes(path, b);
        return path;
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "outside")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", 16, "needs 16 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"X9\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "unsupported dtype")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, "lacks")]
    [InlineData("not json", 0, "not JSON")]
    public void InvalidHeadersAreRejected(string header, int dataBytes, string expected)
    {
        var e = Assert.Throws<CheckpointException>(() => SafeTensors.Load(WriteRaw(header, dataBytes)));
        Assert.Contains(expected, e.Message);
        Assert.Contains("bad.safetensors", e.Message);
    }

    [Fact]
    public void HeaderLongerThanTheFileIsRejected()
    {
        string path = Path.Combine(Fixtures.TempDir(), "short.safetensors");
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(b, 1000);
        File.WriteAllBytes(path, b);
        var e = Assert.Throws<CheckpointException>(() => SafeTensors.Load(path));
        Assert.Contains("exceeds the file size", e.Message);
    }
}
