using System.Globalization;
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>
/// Writes checkpoints in PyTorch's <c>torch.save</c> zip format (pickle protocol 2), readable by <c>torch.load</c>
/// and by <see cref="TorchCheckpoint"/>. Values may be tensors, dicts with string keys (written as OrderedDict),
/// lists, tuples (object?[]), strings, integers, doubles, booleans and null.
/// </summary>
public static class TorchSave
{
    public static void Save(string path, object? root, string archiveName = "archive")
    {
        var storages = new List<Tensor>();
        var pkl = new MemoryStream();
        var w = new BinaryWriter(pkl);
        w.Write((byte)0x80); w.Write((byte)2);                          // PROTO 2
        Write(w, root, storages);
        w.Write((byte)'.');                                             // STOP

        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            void Entry(string name, ReadOnlySpan<byte> data)
            {
                using var s = zip.CreateEntry($"{archiveName}/{name}", CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
            Entry("data.pkl", pkl.ToArray());
            Entry("byteorder", "little"u8);
            for (int i = 0; i < storages.Count; i++) Entry($"data/{i}", storages[i].bytes);
            Entry("version", "3\n"u8);
        });
    }

    static void Write(BinaryWriter w, object? o, List<Tensor> storages)
    {
        switch (o)
        {
            case null: w.Write((byte)'N'); break;
            case bool b: w.Write((byte)(b ? 0x88 : 0x89)); break;
            case int i: WriteInt(w, i); break;
            case long l: WriteInt(w, l); break;
            case double d: w.Write((byte)'G'); w.Write(BitConverter.GetBytes(d).Reverse().ToArray()); break;
            case float f: Write(w, (double)f, storages); break;
            case string s: WriteString(w, s); break;
            case Tensor t: WriteTensor(w, t, storages); break;
            case object?[] tuple:
                w.Write((byte)'(');
                foreach (var x in tuple) Write(w, x, storages);
                w.Write((byte)'t');
                break;
            case System.Collections.IDictionary dict:
                WriteGlobal(w, "collections", "OrderedDict");
                w.Write((byte)')'); w.Write((byte)'R');                 // OrderedDict()
                if (dict.Count > 0)
                {
                    w.Write((byte)'(');
                    foreach (System.Collections.DictionaryEntry kv in dict)
                    {
                        Write(w, kv.Key, storages);
                        Write(w, kv.Value, storages);
                    }
                    w.Write((byte)'u');                                 // SETITEMS
                }
                break;
            case System.Collections.IList list:
                w.Write((byte)']');
                if (list.Count > 0)
                {
                    w.Write((byte)'(');
                    foreach (var x in list) Write(w, x, storages);
                    w.Write((byte)'e');                                 // APPENDS
                }
                break;
            default: throw new ArgumentException($"cannot save a value of type {o.GetType().Name} in a torch.save checkpoint");
        }
    }

    static void WriteTensor(BinaryWriter w, Tensor t, List<Tensor> storages)
    {
        var data = t.detach().cpu().contiguous();
        string storageType = StorageTypeName(data.dtype);
        int key = storages.Count;
        storages.Add(data);
        WriteGlobal(w, "torch._utils", "_rebuild_tensor_v2");
        w.Write((byte)'(');
        w.Write((byte)'(');                                             // persistent id: ('storage', type, key, 'cpu', numel)
        WriteString(w, "storage");
        WriteGlobal(w, "torch", storageType);
        WriteString(w, key.ToString(CultureInfo.InvariantCulture));
        WriteString(w, "cpu");
        WriteInt(w, data.numel());
        w.Write((byte)'t');
        w.Write((byte)'Q');                                             // BINPERSID
        WriteInt(w, 0);                                                 // storage offset
        var shape = data.shape;
        var stride = new long[shape.Length];
        for (long i = shape.Length - 1, s = 1; i >= 0; s *= Math.Max(shape[i], 1), i--) stride[i] = s;
        Write(w, shape.Select(x => (object?)x).ToArray(), storages);
        Write(w, stride.Select(x => (object?)x).ToArray(), storages);
        w.Write((byte)0x89);                                            // requires_grad False
        WriteGlobal(w, "collections", "OrderedDict");
        w.Write((byte)')'); w.Write((byte)'R');                         // backward hooks
        w.Write((byte)'t');
        w.Write((byte)'R');
    }

    static string StorageTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "FloatStorage",
        ScalarType.Float64 => "DoubleStorage",
        ScalarType.Float16 => "HalfStorage",
        ScalarType.BFloat16 => "BFloat16Storage",
        ScalarType.Int64 => "LongStorage",
        ScalarType.Int32 => "IntStorage",
        ScalarType.Int16 => "ShortStorage",
        ScalarType.Int8 => "CharStorage",
        ScalarType.Byte => "ByteStorage",
        ScalarType.Bool => "BoolStorage",
        _ => throw new ArgumentException($"cannot save tensors of dtype {dtype}"),
    };

    static void WriteGlobal(BinaryWriter w, string module, string name)
    {
        w.Write((byte)'c');
        w.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((byte)'X');
        w.Write((uint)b.Length);
        w.Write(b);
    }

    static void WriteInt(BinaryWriter w, long v)
    {
        if (v is >= 0 and < 256) { w.Write((byte)'K'); w.Write((byte)v); }
        else if (v is >= int.MinValue and <= int.MaxValue) { w.Write((byte)'J'); w.Write((int)v); }
        else { w.Write((byte)0x8a); w.Write((byte)8); w.Write(v); }    // LONG1, 8 bytes little-endian two's complement
    }
}
