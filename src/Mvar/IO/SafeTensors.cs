using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>), then the data.
/// Every offset is checked against the file before any tensor is built.
/// </summary>
public static class SafeTensors
{
    static readonly Dictionary<string, ScalarType> Dtypes = new()
    {
        ["F32"] = ScalarType.Float32, ["F64"] = ScalarType.Float64, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    public static Dictionary<string, Tensor> Load(string path)
    {
        FileKinds.RequireRegularFile(path, "checkpoint", m => new CheckpointException(m));
        byte[] file = File.ReadAllBytes(path);
        CheckpointException Bad(string why) => new($"{path}: corrupt safetensors file: {why}");
        if (file.Length < 8) throw Bad("shorter than its 8-byte header length");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (n > (ulong)file.Length - 8) throw Bad($"header length {n} exceeds the file size {file.Length}");
        long dataStart = 8 + (long)n, dataLen = file.Length - dataStart;
        JsonElement header;
        try { header = JsonDocument.Parse(file.AsMemory(8, (int)n)).RootElement; }
        catch (JsonException e) { throw Bad($"header is not JSON ({e.Message})"); }
        if (header.ValueKind != JsonValueKind.Object) throw Bad("header is not a JSON object");

        var result = new Dictionary<string, Tensor>();
        foreach (var prop in header.EnumerateObject())
        {
            if (prop.Name == "__metadata__") continue;
            var v = prop.Value;
            if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("dtype", out var dt) || !v.TryGetProperty("shape", out var sh)
                || !v.TryGetProperty("data_offsets", out var off) || off.GetArrayLength() != 2)
                throw Bad($"tensor '{prop.Name}' lacks dtype, shape or data_offsets");
            if (!Dtypes.TryGetValue(dt.GetString() ?? "", out var dtype)) throw Bad($"tensor '{prop.Name}' has unsupported dtype {dt}");
            long[] shape = sh.EnumerateArray().Select(x => x.GetInt64()).ToArray();
            long begin = off[0].GetInt64(), end = off[1].GetInt64();
            if (shape.Any(x => x < 0)) throw Bad($"tensor '{prop.Name}' has a negative dimension");
            long numel = shape.Aggregate(1L, (a, b) => a * b), bytes = numel * dtype.ElementSize();
            if (begin < 0 || end < begin || end > dataLen)
                throw Bad($"tensor '{prop.Name}' data_offsets [{begin}, {end}] fall outside the {dataLen} data bytes");
            if (end - begin != bytes)
                throw Bad($"tensor '{prop.Name}' of shape [{string.Join(", ", shape)}] {dt} needs {bytes} bytes, data_offsets give {end - begin}");
            var t = empty(shape, dtype: dtype);
            if (bytes > 0) t.bytes = file.AsSpan((int)(dataStart + begin), (int)bytes);
            result[prop.Name] = t;
        }
        return result;
    }

    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata != null) header["__metadata__"] = metadata;
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            var c = t.detach().cpu().contiguous();
            string dtype = Dtypes.FirstOrDefault(kv => kv.Value == c.dtype).Key
                           ?? throw new ArgumentException($"cannot save tensor '{name}' of dtype {c.dtype} as safetensors");
            byte[] b = c.bytes.ToArray();
            header[name] = new { dtype, shape = c.shape, data_offsets = new[] { offset, offset + b.Length } };
            blobs.Add(b);
            offset += b.Length;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int pad = (8 - json.Length % 8) % 8;
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
            s.Write(len);
            s.Write(json);
            for (int i = 0; i < pad; i++) s.WriteByte((byte)' ');
            foreach (var b in blobs) s.Write(b);
        });
    }
}
