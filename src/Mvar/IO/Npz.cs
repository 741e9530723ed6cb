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

    /// <summary>Largest .npy header accepted (numpy writes under 200 bytes).</summary>
    public const int MaxHeaderBytes = 1 << 16;

    /// <summary>
    /// The arrays of an .npz file. Each entry's declared size is checked against the archive (<see cref="ZipBounds"/>)
    /// and each .npy header is validated (magic, version, length, dtype, shape of non-negative integers whose product
    /// does not overflow) before the data is read, and the total against the machine's memory.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        FileKinds.RequireRegularFile(path, "file");
        var result = new Dictionary<string, Tensor>();
        try
        {
            long fileLength = new FileInfo(path).Length, total = 0;
            using var zip = ZipFile.OpenRead(path);
            foreach (var e in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)))
            {
                ZipBounds.CheckSize(e, path, fileLength, m => new MvarException(m));
                using var s = e.Open();
                var t = ReadNpy(s, e.Length, $"{path}:{e.FullName}", ref total);
                result[e.FullName[..^4]] = t;
            }
            if (result.Count == 0) throw new MvarException($"{path}: no .npy arrays inside");
            return result;
        }
        catch (Exception e)
        {
            foreach (var t in result.Values) t.Dispose();
            if (e is InvalidDataException) throw new MvarException($"{path}: not a readable .npz file ({e.Message})", e);
            throw;
        }
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
        long total = 0;
        using var s = new MemoryStream(b, writable: false);
        return ReadNpy(s, b.Length, source, ref total);
    }

    /// <summary>
    /// One .npy array from <paramref name="s"/>, which holds <paramref name="length"/> bytes; <paramref name="total"/>
    /// counts the bytes of the arrays read so far, against the machine's available memory.
    /// </summary>
    static Tensor ReadNpy(Stream s, long length, string source, ref long total)
    {
        MvarException Bad(string why) => new($"{source}: not a supported .npy array ({why})");
        var prefix = new byte[10];
        ZipBounds.ReadExactly(s, prefix, source, m => Bad("truncated header"));
        if (prefix[0] != 0x93 || Encoding.ASCII.GetString(prefix, 1, 5) != "NUMPY") throw Bad("bad magic");
        int major = prefix[6];
        if (major is not (1 or 2 or 3)) throw Bad($"format version {major}.{prefix[7]}");
        long headerLen = BitConverter.ToUInt16(prefix, 8);
        if (major > 1)
        {
            var more = new byte[2];
            ZipBounds.ReadExactly(s, more, source, m => Bad("truncated header"));
            headerLen = BitConverter.ToUInt32([prefix[8], prefix[9], more[0], more[1]]);
        }
        long dataStart = (major == 1 ? 10 : 12) + headerLen;
        if (headerLen > MaxHeaderBytes) throw Bad($"header length {headerLen} (at most {MaxHeaderBytes})");
        if (dataStart > length) throw Bad("truncated header");
        var hb = new byte[headerLen];
        ZipBounds.ReadExactly(s, hb, source, m => Bad("truncated header"));
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(hb);
        var descr = DescrRx().Match(header);
        var fortran = FortranRx().Match(header);
        var shape = ShapeRx().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success) throw Bad("unreadable header");
        if (fortran.Groups[1].Value == "True") throw Bad("Fortran order");
        if (!Descrs.TryGetValue(descr.Groups[1].Value, out var dtype)) throw Bad($"dtype {descr.Groups[1].Value}");
        var parts = shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > 1 && parts[^1] == "") parts = parts[..^1];      // (3,) and (3, 4, )
        if (parts is [""]) parts = [];                                      // () : a scalar
        if (parts.Length > 32) throw Bad($"{parts.Length} dimensions (at most 32)");
        var dims = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!long.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out dims[i]))
                throw Bad($"shape entry \"{(parts[i].Length > 24 ? parts[i][..24] + "..." : parts[i])}\" is not a non-negative integer");
        long bytes;
        try { bytes = checked(dims.Aggregate(1L, (x, y) => checked(x * y)) * dtype.ElementSize()); }
        catch (OverflowException) { throw Bad($"shape ({string.Join(", ", dims)}) overflows 64 bits"); }
        if (dataStart + bytes > length) throw Bad($"data holds {length - dataStart} bytes, the shape needs {bytes}");
        if (bytes > int.MaxValue) throw Bad($"arrays over 2 GiB ({bytes} bytes) are not supported");
        total += bytes;
        MemoryBudget.Require(total, source);
        var t = empty(dims, dtype: dtype);
        try { if (bytes > 0) ZipBounds.ReadExactly(s, t.bytes, source, m => Bad($"data holds fewer than the {bytes} bytes the shape needs")); }
        catch { t.Dispose(); throw; }
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
