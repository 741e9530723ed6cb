using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>
/// NumPy's .npz (a zip of .npy arrays, as numpy.savez writes) and .npy v1-v3, C order, little-endian:
/// uint8, bool, int32, int64, float32, float64. Sample sets use OpenAI's evaluation-suite layout: <c>arr_0</c>, uint8, N x H x W x 3.
/// </summary>
public static partial class Npz
{
    static readonly Dictionary<string, ScalarType> Descrs = new()
    {
        ["|u1"] = ScalarType.Byte, ["|b1"] = ScalarType.Bool, ["<i4"] = ScalarType.Int32, ["<i8"] = ScalarType.Int64,
        ["<f4"] = ScalarType.Float32, ["<f8"] = ScalarType.Float64,
    };

    public static Dictionary<string, Tensor> Load(string path)
    {
        FileKinds.RequireRegularFile(path, "file");
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var result = new Dictionary<string, Tensor>();
            foreach (var e in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)))
            {
                using var s = e.Open();
                var ms = new MemoryStream();
                s.CopyTo(ms);
                result[e.FullName[..^4]] = ReadNpy(ms.ToArray(), $"{path}:{e.FullName}");
            }
            if (result.Count == 0) throw new MvarException($"{path}: no .npy arrays inside");
            return result;
        }
        catch (InvalidDataException e) { throw new MvarException($"{path}: not a readable .npz file ({e.Message})", e); }
    }

    public static void Save(string path, IReadOnlyDictionary<string, Tensor> arrays) =>
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (name, t) in arrays)
            {
                using var s = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
                WriteNpy(s, t);
            }
        });

    public static Tensor ReadNpy(byte[] b, string source)
    {
        MvarException Bad(string why) => new($"{source}: not a supported .npy array ({why})");
        if (b.Length < 10 || b[0] != 0x93 || Encoding.ASCII.GetString(b, 1, 5) != "NUMPY") throw Bad("bad magic");
        int major = b[6];
        int headerLen = major == 1 ? BitConverter.ToUInt16(b, 8) : BitConverter.ToInt32(b, 8);
        int dataStart = (major == 1 ? 10 : 12) + headerLen;
        if (dataStart > b.Length) throw Bad("truncated header");
        string header = Encoding.Latin1.GetString(b, major == 1 ? 10 : 12, headerLen);
        var descr = DescrRx().Match(header);
        var fortran = FortranRx().Match(header);
        var shape = ShapeRx().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success) throw Bad("unreadable header");
        if (fortran.Groups[1].Value == "True") throw Bad("Fortran order");
        if (!Descrs.TryGetValue(descr.Groups[1].Value, out var dtype)) throw Bad($"dtype {descr.Groups[1].Value}");
        long[] dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse).ToArray();
        long bytes = dims.Aggregate(1L, (x, y) => x * y) * dtype.ElementSize();
        if (dataStart + bytes > b.Length) throw Bad($"data holds {b.Length - dataStart} bytes, the shape needs {bytes}");
        var t = empty(dims, dtype: dtype);
        if (bytes > 0) t.bytes = b.AsSpan(dataStart, (int)bytes);
        return t;
    }

    public static void WriteNpy(Stream s, Tensor t)
    {
        var c = t.detach().cpu().contiguous();
        string descr = Descrs.FirstOrDefault(kv => kv.Value == c.dtype).Key
                       ?? throw new ArgumentException($"cannot write dtype {c.dtype} to .npy");
        string shape = c.shape.Length == 1 ? $"({c.shape[0]},)" : $"({string.Join(", ", c.shape)})";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        s.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        s.Write(BitConverter.GetBytes((ushort)header.Length));
        s.Write(Encoding.ASCII.GetBytes(header));
        s.Write(c.bytes);
    }

    /// <summary>Images in [-1, 1] (N, C, H, W) to the evaluation suite's uint8 N x H x W x 3 (grey repeated to RGB).</summary>
    public static Tensor ToUint8NHWC(Tensor images_NCHW)
    {
        using var scope = NewDisposeScope();
        var x = images_NCHW.shape[1] == 1 ? images_NCHW.expand(-1, 3, -1, -1) : images_NCHW;
        return x.add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Byte).permute(0, 2, 3, 1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of <see cref="ToUint8NHWC"/>: uint8 N x H x W x C to float (N, C, H, W) in [-1, 1].</summary>
    public static Tensor FromUint8NHWC(Tensor images_NHWC)
    {
        if (images_NHWC.dim() != 4 || images_NHWC.dtype != ScalarType.Byte)
            throw new MvarException($"expected a uint8 N x H x W x C image array, got {images_NHWC.dtype} [{string.Join(", ", images_NHWC.shape)}]");
        using var scope = NewDisposeScope();
        return images_NHWC.permute(0, 3, 1, 2).to(ScalarType.Float32).div(127.5).sub(1).contiguous().MoveToOuterDisposeScope();
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")] private static partial Regex DescrRx();
    [GeneratedRegex(@"'fortran_order':\s*(True|False)")] private static partial Regex FortranRx();
    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")] private static partial Regex ShapeRx();
}
