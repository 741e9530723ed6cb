using System.Buffers.Binary;
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

    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// The tensors of a safetensors file. The header is validated before any tensor is allocated: UTF-8 JSON without
    /// duplicate keys, each entry an object with a known dtype string, a shape of non-negative integers whose product
    /// (overflow-checked) gives the byte count of its data_offsets, offsets of integers inside the data, and
    /// <c>__metadata__</c> a map of strings; the total against the machine's memory. Every violation is a
    /// <see cref="CheckpointException"/> naming the tensor and the field.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        FileKinds.RequireRegularFile(path, "checkpoint", m => new CheckpointException(m));
        CheckpointException Bad(string why) => new($"{path}: corrupt safetensors file: {why}");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        long fileLength = file.Length;
        if (fileLength < 8) throw Bad("shorter than its 8-byte header length");
        Span<byte> len = stackalloc byte[8];
        file.ReadExactly(len);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > (ulong)fileLength - 8) throw Bad($"header length {n} exceeds the file size {fileLength}");
        if (n > MaxHeaderBytes) throw Bad($"header length {n} is more than the {MaxHeaderBytes} bytes accepted");
        long dataStart = 8 + (long)n, dataLen = fileLength - dataStart;
        var headerBytes = new byte[n];
        file.ReadExactly(headerBytes);
        JsonElement header;
        try { header = JsonDocument.Parse(headerBytes, new JsonDocumentOptions { AllowDuplicateProperties = false }).RootElement; }
        catch (JsonException e) { throw Bad($"header is not JSON or not valid UTF-8 ({e.Message})"); }
        if (header.ValueKind != JsonValueKind.Object) throw Bad("header is not a JSON object");

        var entries = new List<(string name, ScalarType dtype, long[] shape, long begin, long bytes)>();
        long total = 0, available = Math.Max(256L << 20, MemoryBudget.AvailableBytes());
        foreach (var prop in header.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object || prop.Value.EnumerateObject().Any(m => m.Value.ValueKind != JsonValueKind.String))
                    throw Bad("__metadata__ must be an object of strings");
                continue;
            }
            string t = $"tensor '{prop.Name}'";
            var v = prop.Value;
            if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("dtype", out var dt) || !v.TryGetProperty("shape", out var sh)
                || !v.TryGetProperty("data_offsets", out var off))
                throw Bad($"{t} lacks dtype, shape or data_offsets");
            if (dt.ValueKind != JsonValueKind.String || !Dtypes.TryGetValue(dt.GetString()!, out var dtype)) throw Bad($"{t} has unsupported dtype {dt}");
            if (sh.ValueKind != JsonValueKind.Array) throw Bad($"{t}: shape must be a list of integers, got {sh}");
            if (off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2) throw Bad($"{t}: data_offsets must be a list of two integers, got {off}");
            if (sh.GetArrayLength() > 64) throw Bad($"{t}: shape has {sh.GetArrayLength()} dimensions (at most 64)");
            long[] shape = sh.EnumerateArray().Select((x, i) => Int(x, $"{t}: shape[{i}]", Bad)).ToArray();
            long begin = Int(off[0], $"{t}: data_offsets[0]", Bad), end = Int(off[1], $"{t}: data_offsets[1]", Bad);
            if (shape.Any(x => x < 0)) throw Bad($"{t} has a negative dimension");
            long numel = 1, bytes;
            try
            {
                foreach (var d in shape) numel = checked(numel * d);
                bytes = checked(numel * dtype.ElementSize());
            }
            catch (OverflowException) { throw Bad($"{t}: shape [{string.Join(", ", shape)}] overflows 64 bits"); }
            if (begin < 0 || end < begin || end > dataLen)
                throw Bad($"{t} data_offsets [{begin}, {end}] fall outside the {dataLen} data bytes");
            if (end - begin != bytes)
                throw Bad($"{t} of shape [{string.Join(", ", shape)}] {dt} needs {bytes} bytes, data_offsets give {end - begin}");
            if (bytes > int.MaxValue) throw Bad($"{t}: tensors over 2 GiB ({bytes} bytes) are not supported");
            total += bytes;
            if (total > available)
                throw new
                    CheckpointException($"{path}: the tensors need {MemoryBudget.Gb(total)}, more than the {MemoryBudget.Gb(available)} this machine has "
                    + $"available");
            entries.Add((prop.Name, dtype, shape, begin, bytes));
        }

        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (name, dtype, shape, begin, bytes) in entries)
            {
                var t = empty(shape, dtype: dtype);
                result[name] = t;
                if (bytes == 0) continue;
                file.Position = dataStart + begin;
                file.ReadExactly(t.bytes);
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    static long Int(JsonElement e, string what, Func<string, CheckpointException> bad) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v) ? v : throw bad($"{what} must be an integer, got {Clip(e.GetRawText())}");

    static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

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
