using System.Globalization;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>
/// Reads PyTorch <c>torch.save</c> zip checkpoints (<c>NAME/data.pkl</c> + <c>NAME/data/KEY</c> storages) with
/// <see cref="PickleReader"/>: only the globals a state dict needs are understood (OrderedDict, tensor and parameter
/// rebuilding, storage types); any other global stays an inert placeholder, so nothing in a file can run code.
/// Everything a file declares is validated before memory is allocated for it: zip entry sizes against the archive's
/// size and deflate's largest ratio, storage element counts against the entry's bytes, tensor shapes, strides and
/// offsets (overflow-checked) against their storage, and the total against the memory the machine has. Every
/// violation is a <see cref="CheckpointException"/> naming the file, the entry and the field.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>Largest data.pkl accepted (a state dict's pickle is kilobytes to a few megabytes).</summary>
    public const long MaxPickleBytes = 256L << 20;
    /// <summary>Largest total a file's overlapping (e.g. stride-0, expanded) tensors may grow to beyond their storages.</summary>
    public const long MaxExpansionBytes = 64L << 20;
    /// <summary>Most dimensions of one tensor.</summary>
    public const int MaxDims = 64;

    /// <summary>The unpickled top-level object, with tensors as <see cref="Tensor"/>s.</summary>
    public static object? Load(string path)
    {
        FileKinds.RequireRegularFile(path, "checkpoint", m => new CheckpointException(m));
        long fileLength = new FileInfo(path).Length;
        string entryName = "";
        try
        {
            using var zip = OpenZip(path);
            var pkl = zip.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)
                                             && e.FullName.Count(c => c == '/') <= 1).ToList();
            if (pkl.Count != 1)
                throw new CheckpointException($"{path}: not a torch.save checkpoint (expected one */data.pkl in the zip, found {pkl.Count})");
            string prefix = pkl[0].FullName[..^"data.pkl".Length];
            var order = zip.GetEntry(prefix + "byteorder");
            if (order != null && ReadAll(order, path, fileLength, 64) is var bo && System.Text.Encoding.ASCII.GetString(bo).Trim() != "little")
                throw new CheckpointException($"{path}: big-endian checkpoints are not supported");

            var budget = new Budget(path);
            var storages = new Dictionary<string, (Tensor t, ScalarType dtype, long numel)>();
            Tensor Storage(StorageRef r)
            {
                string name = prefix + "data/" + r.Key;
                if (storages.TryGetValue(r.Key, out var known))
                {
                    if (known.dtype != r.Dtype || known.numel != r.Numel)
                        throw new
                            CheckpointException($"{path}: {name}: storage is named twice with different types or sizes ({known.dtype} x {known.numel}, "
                            + $"{r.Dtype} x {r.Numel})");
                    return known.t;
                }
                var entry = zip.GetEntry(name) ?? throw new CheckpointException($"{path}: storage '{r.Key}' is missing from the archive");
                CheckEntrySize(entry, path, fileLength);
                long need = CheckedBytes(r.Numel, r.Dtype, () => $"{path}: {name}: storage of {r.Numel} {r.Dtype} elements: its size overflows");
                if (entry.Length < need)
                    throw new CheckpointException($"{path}: storage '{r.Key}' has {entry.Length} bytes, but its {r.Numel} {r.Dtype} elements need {need}");
                if (need > int.MaxValue) throw new CheckpointException($"{path}: {name}: storages over 2 GiB ({need} bytes) are not supported");
                budget.Take(need, name);
                entryName = name;
                var t = torch.empty(r.Numel, dtype: r.Dtype);
                try { if (need > 0) ReadExactly(entry, t.bytes, path); }
                catch { t.Dispose(); throw; }
                storages[r.Key] = (t, r.Dtype, r.Numel);
                return t;
            }

            CheckEntrySize(pkl[0], path, fileLength);
            entryName = pkl[0].FullName;
            var reader = new PickleReader(ReadAll(pkl[0], path, fileLength, MaxPickleBytes), ResolveGlobal(path, budget),
                pid => pid is object?[] { Length: >= 5 } t && t[0] is "storage" && t[1] is StorageType st && t[2] is string key
                    ? new StorageRef(key, st.Dtype, ToLong(t[4], $"{path}: storage '{key}' element count"), Storage)
                    : throw new CheckpointException($"{path}: {pkl[0].FullName}: unsupported persistent id in the pickle"));
            return reader.Load();
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"{path}: corrupt checkpoint ({(entryName == "" ? "" : entryName + ": ")}{e.Message})",
            e);
        }
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

    static void CheckEntrySize(ZipArchiveEntry e, string path, long fileLength) =>
        ZipBounds.CheckSize(e, path, fileLength, m => new CheckpointException(m));

    static byte[] ReadAll(ZipArchiveEntry e, string path, long fileLength, long max)
    {
        CheckEntrySize(e, path, fileLength);
        if (e.Length > max) throw new CheckpointException($"{path}: {e.FullName} holds {e.Length} bytes, more than the {max} accepted");
        var buf = new byte[e.Length];
        ReadExactly(e, buf, path);
        return buf;
    }

    static void ReadExactly(ZipArchiveEntry e, Span<byte> buf, string path)
    {
        using var s = e.Open();
        ZipBounds.ReadExactly(s, buf, $"{path}: entry {e.FullName}", m => new CheckpointException(m));
    }

    /// <summary>numel * element size, or an error when it overflows.</summary>
    static long CheckedBytes(long numel, ScalarType dtype, Func<string> what)
    {
        if (numel < 0) throw new CheckpointException(what().Replace("its size overflows", "negative element count"));
        try { return checked(numel * dtype.ElementSize()); }
        catch (OverflowException) { throw new CheckpointException(what()); }
    }

    /// <summary>An integer field of the pickle as a long: a clear error for text, floats, None or integers beyond 64 bits.</summary>
    static long ToLong(object? v, string what) => v switch
    {
        long l => l,
        int i => i,
        bool b => b ? 1 : 0,
        System.Numerics.BigInteger big => throw new CheckpointException($"{what} {Clip(big.ToString(CultureInfo.InvariantCulture))} does not fit in 64 bits"),
        _ => throw new CheckpointException($"{what} must be an integer, got {Describe(v)}"),
    };

    static string Describe(object? v) => v switch
    {
        null => "None",
        string s => $"the text \"{Clip(s)}\"",
        double d => $"the float {d}",
        object?[] t => $"a tuple of {t.Length}",
        _ => $"a {v.GetType().Name}",
    };

    static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    /// <summary>The bytes a file's tensors may take: the machine's available memory, and the expansion allowance.</summary>
    sealed class Budget(string path)
    {
        readonly long available = Math.Max(256L << 20, MemoryBudget.AvailableBytes());
        long used, expanded;
        public void Take(long bytes, string what)
        {
            used += bytes;
            if (used > available)
                throw new
                    CheckpointException($"{path}: {what}: the tensors need {MemoryBudget.Gb(used)} so far, more than the {MemoryBudget.Gb(available)} "
                    + $"this machine has available");
        }
        public void Expand(long bytes, string what)
        {
            expanded += bytes;
            if (expanded > MaxExpansionBytes)
                throw new
                    CheckpointException($"{path}: {what}: overlapping strides expand the file's storages by {expanded} bytes, more than the "
                    + $"{MaxExpansionBytes} accepted");
            Take(bytes, what);
        }
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

    static Func<string, string, object?> ResolveGlobal(string path, Budget budget) => (module, name) => (module, name) switch
    {
        ("collections", "OrderedDict") => new Callable(_ => new Dictionary<object, object?>()),
        ("torch._utils", "_rebuild_tensor_v2") or ("torch._utils", "_rebuild_tensor") => new Callable(a => RebuildTensor(a, path, budget)),
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
    static object RebuildTensor(object?[] a, string path, Budget budget)
    {
        if (a.Length < 4 || a[0] is not StorageRef storage || a[2] is not object?[] sizeObj || a[3] is not object?[] strideObj)
            throw new CheckpointException($"{path}: malformed tensor record in the checkpoint (expected storage, offset, size, stride)");
        string what = $"{path}: tensor on storage '{storage.Key}'";
        if (sizeObj.Length > MaxDims) throw new CheckpointException($"{what}: {sizeObj.Length} dimensions (at most {MaxDims})");
        if (sizeObj.Length != strideObj.Length)
            throw new CheckpointException($"{what}: size has {sizeObj.Length} dimensions but stride has {strideObj.Length}");
        long offset = ToLong(a[1], $"{what}: storage_offset");
        long[] size = sizeObj.Select((x, i) => ToLong(x, $"{what}: size[{i}]")).ToArray();
        long[] stride = strideObj.Select((x, i) => ToLong(x, $"{what}: stride[{i}]")).ToArray();
        string shape = $"[{string.Join(", ", size)}]";
        if (offset < 0) throw new CheckpointException($"{what}: negative storage_offset {offset}");
        for (int i = 0; i < size.Length; i++)
        {
            if (size[i] < 0) throw new CheckpointException($"{what}: size[{i}] is negative ({shape})");
            if (stride[i] < 0) throw new CheckpointException($"{what}: stride[{i}] is negative ({stride[i]})");
        }
        long numel, extent;
        try
        {
            numel = 1;
            foreach (var n in size) numel = checked(numel * n);
            extent = 0;
            if (numel > 0)
            {
                extent = checked(offset + 1);
                for (int i = 0; i < size.Length; i++) extent = checked(extent + checked((size[i] - 1) * stride[i]));
            }
        }
        catch (OverflowException) { throw new CheckpointException($"{what}: shape {shape} with stride [{string.Join(", ", stride)}] overflows 64 bits"); }
        if (extent > storage.Numel)
            throw new CheckpointException(
                $"a tensor of shape {shape} (offset {offset}) needs {extent} elements but its storage '{storage.Key}' has {storage.Numel}");
        var flat = storage.Read(storage);
        bool whole = offset == 0 && numel == storage.Numel && IsContiguous(size, stride);
        if (whole) return flat.view(size);
        long bytes = CheckedBytes(numel, storage.Dtype, () => $"{what}: its size overflows");
        if (numel > storage.Numel) budget.Expand(bytes, $"tensor of shape {shape} on storage '{storage.Key}'");
        else budget.Take(bytes, $"tensor of shape {shape}");
        return flat.as_strided(size, stride, offset).clone();
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
