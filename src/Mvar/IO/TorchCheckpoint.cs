using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>
/// Reads PyTorch <c>torch.save</c> zip checkpoints (<c>NAME/data.pkl</c> + <c>NAME/data/KEY</c> storages) with
/// <see cref="PickleReader"/>: only the globals a state dict needs are understood (OrderedDict, tensor and parameter
/// rebuilding, storage types); any other global stays an inert placeholder, so nothing in a file can run code.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>The unpickled top-level object, with tensors as <see cref="Tensor"/>s.</summary>
    public static object? Load(string path)
    {
        FileKinds.RequireRegularFile(path, "checkpoint", m => new CheckpointException(m));
        try
        {
            using var zip = OpenZip(path);
            var pkl = zip.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)
                                             && e.FullName.Count(c => c == '/') <= 1).ToList();
            if (pkl.Count != 1)
                throw new CheckpointException($"{path}: not a torch.save checkpoint (expected one */data.pkl in the zip, found {pkl.Count})");
            string prefix = pkl[0].FullName[..^"data.pkl".Length];
            var order = zip.GetEntry(prefix + "byteorder");
            if (order != null && ReadAll(order, path) is var bo && System.Text.Encoding.ASCII.GetString(bo).Trim() != "little")
                throw new CheckpointException($"{path}: big-endian checkpoints are not supported");

            var storages = new Dictionary<string, Tensor>();
            Tensor Storage(StorageRef r)
            {
                if (storages.TryGetValue(r.Key, out var t)) return t;
                var entry = zip.GetEntry(prefix + "data/" + r.Key)
                            ?? throw new CheckpointException($"{path}: storage '{r.Key}' is missing from the archive");
                long need = r.Numel * r.Dtype.ElementSize();
                if (entry.Length < need)
                    throw new CheckpointException($"{path}: storage '{r.Key}' has {entry.Length} bytes, but its {r.Numel} {r.Dtype} elements need {need}");
                byte[] bytes = ReadAll(entry, path);
                t = torch.empty(r.Numel, dtype: r.Dtype);
                if (need > 0) t.bytes = bytes.AsSpan(0, (int)need);
                storages[r.Key] = t;
                return t;
            }

            var reader = new PickleReader(ReadAll(pkl[0], path), ResolveGlobal,
                pid => pid is object?[] { Length: >= 5 } t && t[0] is "storage" && t[1] is StorageType st && t[2] is string key
                    ? new StorageRef(key, st.Dtype, Convert.ToInt64(t[4]), Storage)
                    : throw new CheckpointException($"{path}: unsupported persistent id in the pickle"));
            return reader.Load();
        }
        catch (InvalidDataException e) { throw new CheckpointException($"{path}: corrupt checkpoint ({e.Message})", e); }
        catch (EndOfStreamException e) { throw new CheckpointException($"{path}: truncated checkpoint ({e.Message})", e); }
    }

    /// <summary>
    /// The flat state dict (name to tensor) of a checkpoint. <paramref name="keyPath"/> ("mvar_wo_ddp",
    /// "trainer/mvar_wo_ddp") selects a nested dict; without it the top level when it is a dict of tensors, else the
    /// only nested dict of tensors (an error lists the candidates when there are several).
    /// </summary>
    public static Dictionary<string, Tensor> LoadStateDict(string path, string? keyPath = null) =>
        StateDicts.Select(Load(path), keyPath, path);

    static ZipArchive OpenZip(string path)
    {
        try { return ZipFile.OpenRead(path); }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"{path}: not a readable torch.save zip archive (corrupt, truncated, or the legacy pre-1.6 format): {e.Message}", e);
        }
    }

    static byte[] ReadAll(ZipArchiveEntry e, string path)
    {
        using var s = e.Open();
        var buf = new byte[e.Length];
        int n = 0;
        while (n < buf.Length)
        {
            int r = s.Read(buf, n, buf.Length - n);
            if (r == 0) throw new CheckpointException($"{path}: entry {e.FullName} is truncated");
            n += r;
        }
        return buf;
    }

    sealed record StorageType(ScalarType Dtype);

    /// <summary>A storage named by a persistent id; its bytes are read on first use.</summary>
    sealed record StorageRef(string Key, ScalarType Dtype, long Numel, Func<StorageRef, Tensor> Read);

    static readonly Dictionary<string, ScalarType> StorageDtypes = new()
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    static object ResolveGlobal(string module, string name) => (module, name) switch
    {
        ("collections", "OrderedDict") => new Callable(_ => new Dictionary<object, object?>()),
        ("torch._utils", "_rebuild_tensor_v2") or ("torch._utils", "_rebuild_tensor") => new Callable(RebuildTensor),
        ("torch._utils", "_rebuild_parameter") or ("torch._utils", "_rebuild_parameter_with_state") =>
            new Callable(a => a.Length > 0 ? a[0] : null),
        ("torch", _) when StorageDtypes.TryGetValue(name, out var dt) => new StorageType(dt),
        _ => new PickleGlobal(module, name),
    };

    sealed class Callable(Func<object?[], object?> f) : IPickleCallable
    {
        public object? Call(object?[] args) => f(args);
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    static object RebuildTensor(object?[] a)
    {
        if (a.Length < 4 || a[0] is not StorageRef storage || a[2] is not object?[] sizeObj || a[3] is not object?[] strideObj)
            throw new CheckpointException("malformed tensor record in the checkpoint");
        long offset = Convert.ToInt64(a[1]);
        long[] size = sizeObj.Select(Convert.ToInt64).ToArray(), stride = strideObj.Select(Convert.ToInt64).ToArray();
        long numel = size.Aggregate(1L, (x, y) => x * y);
        long extent = numel == 0 ? 0 : offset + size.Zip(stride, (n, s) => (n - 1) * s).Sum() + 1;
        if (offset < 0 || size.Any(n => n < 0) || stride.Any(s => s < 0) || size.Length != stride.Length || extent > storage.Numel)
            throw new CheckpointException(
                $"a tensor of shape [{string.Join(", ", size)}] (offset {offset}) needs {extent} elements but its storage '{storage.Key}' has {storage.Numel}");
        var flat = storage.Read(storage);
        bool whole = offset == 0 && numel == storage.Numel && IsContiguous(size, stride);
        return whole ? flat.view(size) : flat.as_strided(size, stride, offset).clone();
    }

    static bool IsContiguous(long[] size, long[] stride)
    {
        long expect = 1;
        for (int i = size.Length - 1; i >= 0; i--)
        {
            if (size[i] != 1 && stride[i] != expect) return false;
            expect *= size[i];
        }
        return true;
    }
}
