using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Mvar.Config;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Tests.Fuzz;

/// <summary>One generated input: its bytes, the file extension it is written with, and what the generator did.</summary>
public sealed record FuzzCase(string Format, int Index, string What, byte[] Bytes, string Extension);

/// <summary>
/// Seeded generators of hostile inputs for every format Mvar reads (pickle opcodes inside torch.save zips, zip layout,
/// safetensors headers, npy headers inside .npz, PNG/JPEG chunks, model configs) and the reader each one is fed to.
/// Self-contained (only public Mvar APIs that have existed since the first release), so the same cases can be run
/// against older code (bench/fuzz-before.sh) to count what held before.
/// A case holds when the reader returns a result or throws an <see cref="MvarException"/>, within the time bound.
/// </summary>
public static class FuzzCases
{
    public static readonly string[] Formats = ["pickle", "zip", "safetensors", "npy", "image", "config"];

    public static IEnumerable<FuzzCase> Generate(string format, int seed, int count) => format switch
    {
        "pickle" => Pickle(seed, count),
        "zip" => Zip(seed, count),
        "safetensors" => SafeTensorsHeaders(seed, count),
        "npy" => NpyHeaders(seed, count),
        "image" => Images(seed, count),
        "config" => Configs(seed, count),
        _ => throw new ArgumentException($"unknown fuzz format {format}"),
    };

    /// <summary>Feeds a case (written at <paramref name="path"/>) to its reader; frees what it returns.</summary>
    public static void Load(FuzzCase c, string path)
    {
        switch (c.Format)
        {
            case "pickle":
            case "zip" when c.Extension == ".pth":
                Free(TorchCheckpoint.Load(path));
                break;
            case "zip":
            case "npy":
                foreach (var t in Npz.Load(path).Values) t.Dispose();
                break;
            case "safetensors":
                foreach (var t in SafeTensors.Load(path).Values) t.Dispose();
                break;
            case "image":
                var (px, w, h) = ImageFiles.ReadPixels(path, 3);
                ImageFiles.ResizeAndCrop(px, w, h, 3, 32);   // what tokenize / reconstruct do next
                break;
            case "config":
                var config = ModelConfig.Load(path);
                if (Implausible(config) is string why) throw new FuzzOracleException($"accepted a config that cannot be built: {why}");
                break;
        }
    }

    /// <summary>A config the reader accepted although no model can be built from it (the fuzz oracle for configs).</summary>
    public sealed class FuzzOracleException(string message) : Exception(message);

    /// <summary>Why a parsed config is not buildable on a machine like this one, or null when it is.</summary>
    public static string? Implausible(ModelConfig c)
    {
        var t = c.Tokenizer;
        if (t == null) return "no tokenizer";
        if (t.ChMult == null || t.PatchNums == null) return "null list";
        if (t.VocabSize is < 2 or > 1 << 20) return $"vocab_size {t.VocabSize}";
        if (t.Ch is < 32 or > 1024 || t.ZChannels is < 1 or > 4096 || t.NumResBlocks is < 1 or > 16) return "tokenizer widths";
        if (t.ChMult.Length is < 1 or > 8 || t.ChMult.Any(m => m is < 1 or > 16)) return $"ch_mult of {t.ChMult.Length}";
        if (t.PatchNums.Length is < 1 or > 64 || t.PatchNums.Any(p => p is < 1 or > 256)) return "patch_nums";
        if ((long)t.PatchNums[^1] << (t.ChMult.Length - 1) > 4096) return "image size";
        if (t.PatchNums.Sum(p => (long)p * p) > 1 << 16) return "token count";
        if (!double.IsFinite(t.QuantResi) || !double.IsFinite(t.Beta) || !double.IsFinite(t.Dropout)) return "non-finite tokenizer number";
        if (c.Transformer is { } m)
        {
            if (m.Depth is < 1 or > 128 || m.EmbedDim is < 1 or > 16384 || m.NumHeads is < 1 or > 1024) return "transformer sizes";
            if (m.NumClasses is < 1 or > 1 << 20) return $"num_classes {m.NumClasses}";
            if (!(m.MlpRatio >= 0.25 && m.MlpRatio <= 16) || !(m.NormEps > 0 && m.NormEps < 1)) return $"mlp_ratio {m.MlpRatio} / norm_eps {m.NormEps}";
            double parameters = m.Depth * (m.EmbedDim * (double)m.EmbedDim * (4 + 2 * m.MlpRatio + 6)) + (m.NumClasses + (double)t.VocabSize) * m.EmbedDim;
            if (parameters * 4 > 64e9) return $"{parameters:g3} parameters";
        }
        if (c.Training is { } r)
        {
            if (r.Betas == null || r.TokBetas == null) return "null betas";
            if (r.BatchSize is < 1 or > 65536 || r.Epochs is < 1 or > 1_000_000) return "batch size / epochs";
            foreach (var d in new[] { r.Tblr, r.Twd, r.Twde, r.Tclip, r.Ls, r.CondDropRate, r.Wp, r.Wp0, r.Wpe, r.TokLr, r.TokWd, r.MidReso })
                if (!double.IsFinite(d)) return "non-finite training number";
            if (r.Sche == null || (r.Sche.StartsWith("lin",
                StringComparison.Ordinal) && r.Sche.Length > 3 && r.Sche[3..] is var tail && tail != "0" && tail != "00"
                && !(double.TryParse(tail, System.Globalization.CultureInfo.InvariantCulture, out var f) && f >= 0 && f <= 1))) return $"sche {r.Sche}";
        }
        return null;
    }

    static void Free(object? o)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<object?>([o]);
        while (stack.Count > 0)
        {
            var x = stack.Pop();
            if (x == null || !seen.Add(x)) continue;
            switch (x)
            {
                case Tensor t: t.Dispose(); break;
                case Dictionary<object, object?> d: foreach (var v in d.Values) stack.Push(v); break;
                case List<object?> l: foreach (var v in l) stack.Push(v); break;
                case object?[] a: foreach (var v in a) stack.Push(v); break;
                case PickleObject p: stack.Push(p.State); foreach (var v in p.Args) stack.Push(v); break;
            }
        }
    }

    // ------------------------------------------------------------------ pickle opcodes

    /// <summary>Builds pickle opcode streams by hand.</summary>
    sealed class P
    {
        public readonly List<byte> B = [0x80, 2];
        public P Op(params byte[] ops) { B.AddRange(ops); return this; }
        public P Op(char c) { B.Add((byte)c); return this; }
        public P Op(char c, byte arg) { B.Add((byte)c); B.Add(arg); return this; }
        public P U32(uint v) { B.AddRange(BitConverter.GetBytes(v)); return this; }
        public P U64(ulong v) { B.AddRange(BitConverter.GetBytes(v)); return this; }
        public P Int(long v)
        {
            if (v is >= 0 and < 256) return Op((byte)'K', (byte)v);
            if (v is >= int.MinValue and <= int.MaxValue) { Op('J'); B.AddRange(BitConverter.GetBytes((int)v)); return this; }
            Op(0x8a, 8); B.AddRange(BitConverter.GetBytes(v)); return this;
        }
        public P Str(string s) { var b = Encoding.UTF8.GetBytes(s); Op('X'); U32((uint)b.Length); B.AddRange(b); return this; }
        public P Global(string m, string n) { Op('c'); B.AddRange(Encoding.ASCII.GetBytes($"{m}\n{n}\n")); return this; }
        public P Line(char op, string text) { Op(op); B.AddRange(Encoding.ASCII.GetBytes(text + "\n")); return this; }
        public byte[] Stop() { B.Add((byte)'.'); return B.ToArray(); }
    }

    /// <summary>A value written into a tensor record: an integer, or something that is not one.</summary>
    static void Value(P p, object v)
    {
        switch (v)
        {
            case long l: p.Int(l); break;
            case string s: p.Str(s); break;
            case double d: p.Op('G'); p.B.AddRange(BitConverter.GetBytes(d).Reverse()); break;
            case null: p.Op('N'); break;
            case byte[] big: p.Op(0x8a, (byte)big.Length); p.B.AddRange(big); break;   // LONG1 beyond 64 bits
        }
    }

    /// <summary>A _rebuild_tensor_v2 record on storage "0" of <paramref name="numel"/> float32 elements.</summary>
    static void Tensor(P p, object numel, object offset, object[] size, object[] stride, string storage = "0")
    {
        p.Global("torch._utils", "_rebuild_tensor_v2").Op('(');
        p.Op('(').Str("storage").Global("torch", "FloatStorage").Str(storage).Str("cpu"); Value(p, numel); p.Op('t').Op('Q');
        Value(p, offset);
        p.Op('('); foreach (var s in size) Value(p, s); p.Op('t');
        p.Op('('); foreach (var s in stride) Value(p, s); p.Op('t');
        p.Op(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R');
    }

    static readonly object[] Interesting =
    [
        0L, 1L, 2L, 15L, 16L, 17L, -1L, -16L, (long)int.MaxValue, (long)int.MinValue, 1L << 32, 1_000_000_000_000L, 1L << 62,
        long.MaxValue, long.MinValue, "16", 16.0, null!, new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 1 },
    ];

    static object Pick(Random r) => r.Next(3) == 0 ? 16L : Interesting[r.Next(Interesting.Length)];

    /// <summary>A torch.save zip around <paramref name="pkl"/>, with one storage "0" of 16 float32 elements.</summary>
    public static byte[] TorchZip(byte[] pkl, int storageBytes = 64)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Entry(string name, byte[] data)
            {
                using var s = zip.CreateEntry("archive/" + name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
            Entry("data.pkl", pkl);
            Entry("byteorder", "little"u8.ToArray());
            Entry("data/0", new byte[storageBytes]);
            Entry("version", "3\n"u8.ToArray());
        }
        return ms.ToArray();
    }

    static byte[] ValidPickle()
    {
        var p = new P().Op('}').Op('(').Str("w");
        Tensor(p, 16L, 0L, [4L, 4L], [4L, 1L]);
        p.Str("b");
        Tensor(p, 16L, 4L, [3L], [1L]);
        p.Str("step").Int(7).Op('u');
        return p.Stop();
    }

    // ------------------------------------------------------------------ the issue's cases, as checkpoints

    /// <summary>A checkpoint whose memo builds a DAG: each list holds the previous one twice (2^depth if unfolded).</summary>
    public static byte[] DagCheckpoint(int depth)
    {
        var p = new P().Op(']').Op('q', 0);
        for (int k = 1; k <= depth; k++) p.Op(']').Op('(').Op('j').U32((uint)k - 1).Op('j').U32((uint)k - 1).Op('e').Op('r').U32((uint)k);
        p.Op('0').Op('}').Str("w").Op('j').U32((uint)depth).Op('s');
        return TorchZip(p.Stop());
    }

    /// <summary>A checkpoint of dicts nested <paramref name="depth"/> deep.</summary>
    public static byte[] DeepCheckpoint(int depth)
    {
        var p = new P();
        for (int k = 0; k < depth; k++) p.Op('}').Op('(').Str("a");
        p.Op('}');
        for (int k = 0; k < depth; k++) p.Op('u');
        return TorchZip(p.Stop());
    }

    /// <summary>A checkpoint of a tensor record with the given fields on a 16-element storage.</summary>
    public static byte[] TensorCheckpoint(object numel, object offset, object[] size, object[] stride)
    {
        var p = new P().Op('}').Str("w");
        Tensor(p, numel, offset, size, stride);
        p.Op('s');
        return TorchZip(p.Stop());
    }

    /// <summary>A valid state dict whose step is a LONG4 integer that fits a long (torch.load reads it as an int).</summary>
    public static byte[] Long4Checkpoint()
    {
        var p = new P().Op('}').Op('(').Str("model").Op('}').Str("w");
        Tensor(p, 16L, 0L, [16L], [1L]);
        p.Op('s').Str("step").Op(0x8b).U32(2).Op(0x10, 0).Op('u');
        return TorchZip(p.Stop());
    }

    static IEnumerable<FuzzCase> Pickle(int seed, int count)
    {
        var r = new Random(seed);
        byte[] valid = ValidPickle();
        for (int i = 0; i < count; i++)
        {
            string what;
            byte[] pkl;
            switch (i % 6)
            {
                case 0:
                    {   // the valid record with hostile numbers in its fields
                        object numel = Pick(r), offset = r.Next(2) == 0 ? 0L : Pick(r);
                        int dims = r.Next(0, 4);
                        var size = Enumerable.Range(0, dims).Select(_ => Pick(r)).ToArray();
                        var stride = Enumerable.Range(0, r.Next(4) == 0 ? dims + 1 : dims).Select(_ => r.Next(3) == 0 ? 0L : Pick(r)).ToArray();
                        var p = new P().Op('}').Str("w");
                        Tensor(p, numel, offset, size, stride);
                        p.Op('s');
                        pkl = p.Stop();
                        what = $"tensor numel {Show(numel)} offset {Show(offset)} size [{string.Join(",", size.Select(Show))}] stride "
                            + $"[{string.Join(",", stride.Select(Show))}]";
                        break;
                    }
                case 1:
                    {   // byte flips, insertions and truncations of the valid pickle
                        pkl = (byte[])valid.Clone();
                        int n = r.Next(1, 5);
                        for (int k = 0; k < n; k++) pkl[r.Next(2, pkl.Length)] = (byte)r.Next(256);
                        if (r.Next(3) == 0) pkl = pkl[..r.Next(2, pkl.Length)];
                        what = $"{n} byte(s) of the valid pickle changed";
                        break;
                    }
                case 2:
                    {   // opcode soup with hostile lengths
                        var p = new P();
                        int n = r.Next(3, 40);
                        for (int k = 0; k < n; k++) RandomOp(p, r);
                        pkl = p.Stop();
                        what = $"{n} random opcodes";
                        break;
                    }
                case 3:
                    {   // memo DAG: each list holds the previous one twice
                        int depth = r.Next(20, 65);
                        var p = new P().Op(']').Op('q', 0);
                        for (int k = 1; k <= depth; k++) p.Op(']').Op('(').Op('h', (byte)(k - 1)).Op('h', (byte)(k - 1)).Op('e').Op('q', (byte)k);
                        p.Op('0').Op('}').Str("w").Op('h', (byte)depth).Op('s');
                        pkl = p.Stop();
                        what = $"memo DAG of depth {depth}";
                        break;
                    }
                case 4:
                    {   // deep nesting or self-reference
                        int kind = r.Next(3);
                        var p = new P();
                        if (kind == 0)
                        {
                            int depth = r.Next(2000, 100_001);
                            for (int k = 0; k < depth; k++) p.Op('}').Op('(').Str("a");
                            p.Op('}');
                            for (int k = 0; k < depth; k++) p.Op('u');
                            what = $"dicts nested {depth} deep";
                        }
                        else if (kind == 1) { p.Op('}').Op('q', 0).Str("self").Op('h', 0).Op('s'); what = "a dict holding itself"; }
                        else { p.Op(']').Op('q', 0).Op('h', 0).Op('a').Op('}').Op('(').Str("x").Op('h', 0).Op('u'); what = "a list holding itself"; }
                        pkl = p.Stop();
                        break;
                    }
                default:
                    {   // numbers as text and big integers where sizes are expected
                        var p = new P().Op('}').Op('(');
                        string[] texts = ["abc", "1.2.3", "99999999999999999999999", "", "-", "0x10", new string('9', 5000), "1e400", "nan"];
                        string t = texts[r.Next(texts.Length)];
                        char op = "ILF"[r.Next(3)];
                        p.Str("n").Line(op, op == 'L' ? t + "L" : t);
                        p.Str("big").Op(0x8b).U32(9).Op(0, 0, 0, 0, 0, 0, 0, 0, 1);   // LONG4: 2^64
                        p.Str("small").Op(0x8b).U32(2).Op(0x10, 0);                   // LONG4 that fits a long
                        p.Op('u');
                        pkl = p.Stop();
                        what = $"text number {op} \"{(t.Length > 20 ? t[..20] + "..." : t)}\"";
                        break;
                    }
            }
            yield return new FuzzCase("pickle", i, what, TorchZip(pkl), ".pth");
        }
    }

    static string Show(object? v) => v switch { null => "None", byte[] => "2^64", string s => $"'{s}'", _ => v.ToString()! };

    static void RandomOp(P p, Random r)
    {
        uint[] lens = [0, 1, 5, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0];
        switch (r.Next(22))
        {
            case 0: p.Op('X').U32(lens[r.Next(lens.Length)]).Op((byte)'a'); break;            // BINUNICODE
            case 1: p.Op('B').U32(lens[r.Next(lens.Length)]); break;                           // BINBYTES
            case 2: p.Op(0x8e).U64(r.Next(2) == 0 ? 1UL << 62 : ulong.MaxValue); break;        // BINBYTES8
            case 3: p.Op(0x8d).U64(r.Next(2) == 0 ? 1UL << 40 : 0x8000000000000000UL); break;  // BINUNICODE8
            case 4: p.Op(0x8b).U32(lens[r.Next(lens.Length)]); break;                          // LONG4
            case 5: p.Op('T').U32(lens[r.Next(lens.Length)]); break;                           // BINSTRING
            case 6: p.Op('('); break;
            case 7: p.Op(']'); break;
            case 8: p.Op('}'); break;
            case 9: p.Op('e'); break;
            case 10: p.Op('u'); break;
            case 11: p.Op('t'); break;
            case 12: p.Op('R'); break;
            case 13: p.Op('h', (byte)r.Next(4)); break;
            case 14: p.Op('q', (byte)r.Next(4)); break;
            case 15: p.Op('2'); break;
            case 16: p.Op('0'); break;
            case 17: p.Int(r.NextInt64()); break;
            case 18: p.Global(r.Next(2) == 0 ? "torch._utils" : "os", r.Next(2) == 0 ? "_rebuild_tensor_v2" : "system"); break;
            case 19: p.Op('Q'); break;
            case 20: p.Str("k"); break;
            default: p.Op((byte)r.Next(256)); break;
        }
    }

    // ------------------------------------------------------------------ zip layout

    static IEnumerable<FuzzCase> Zip(int seed, int count)
    {
        var r = new Random(seed);
        byte[] torchZip = TorchZip(ValidPickle());
        byte[] npz = NpzOf(NpyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 4, 4, 3), }", 96));
        for (int i = 0; i < count; i++)
        {
            bool torch = i % 2 == 0;
            byte[] z = (byte[])(torch ? torchZip : npz).Clone();
            string what;
            switch (r.Next(5))
            {
                case 0:
                    {   // a size field of a central-directory or local header set to a lie
                        var offsets = Find(z, [0x50, 0x4b, 0x01, 0x02]).Select(o => (o, cd: true)).Concat(Find(z, [0x50, 0x4b, 0x03, 0x04]).Select(o => (o,
                            cd: false))).ToList();
                        var (o, cd) = offsets[r.Next(offsets.Count)];
                        int field = cd ? (r.Next(2) == 0 ? 20 : 24) : (r.Next(2) == 0 ? 18 : 22);
                        uint[] values = [0, 1, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF, 1000_000_000, (uint)r.Next()];
                        uint v = values[r.Next(values.Length)];
                        BinaryPrimitives.WriteUInt32LittleEndian(z.AsSpan(o + field), v);
                        what = $"{(cd ? "central" : "local")} size field +{field} = {v}";
                        break;
                    }
                case 1: z = z[..r.Next(4, z.Length)]; what = $"truncated to {z.Length} bytes"; break;
                case 2:
                    {
                        int n = r.Next(1, 8);
                        for (int k = 0; k < n; k++) z[r.Next(z.Length)] = (byte)r.Next(256);
                        what = $"{n} random bytes changed";
                        break;
                    }
                case 3:
                    {   // the entry count or the directory offset of the end record
                        int eocd = Find(z, [0x50, 0x4b, 0x05, 0x06]).Last();
                        int field = new[] { 8, 10, 12, 16 }[r.Next(4)];
                        if (field < 12) BinaryPrimitives.WriteUInt16LittleEndian(z.AsSpan(eocd + field), (ushort)r.Next(65536));
                        else BinaryPrimitives.WriteUInt32LittleEndian(z.AsSpan(eocd + field), (uint)r.Next());
                        what = $"end record field +{field} changed";
                        break;
                    }
                default:
                    {   // a deflated bomb: a small entry declaring a big array of zeros
                        long mb = new[] { 1L, 4, 16 }[r.Next(3)];
                        string shape = $"({mb << 20},)";
                        if (torch) { z = DeflatedTorch(mb << 20); what = $"torch storage of {mb} MB of deflated zeros declared {mb << 18} floats"; }
                        else
                        {
                            z = NpzOf(NpyBytes($"{{'descr': '{(r.Next(2) == 0 ? "|u1" : "<c8")}', 'fortran_order': False, 'shape': {shape}, }}",
                            (int)(mb << 20)), deflate: true); what = $"npz of {mb} MB of deflated zeros";
                        }
                        break;
                    }
            }
            yield return new FuzzCase("zip", i, what, z, torch ? ".pth" : ".npz");
        }
    }

    static byte[] DeflatedTorch(long bytes)
    {
        var p = new P().Op('}').Str("w");
        Tensor(p, bytes / 4, 0L, [bytes / 4], [1L]);
        p.Op('s');
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var s = zip.CreateEntry("archive/data.pkl").Open()) s.Write(p.Stop());
            using (var s = zip.CreateEntry("archive/data/0", CompressionLevel.SmallestSize).Open())
            {
                var zeros = new byte[1 << 20];
                for (long k = 0; k < bytes; k += zeros.Length) s.Write(zeros);
            }
        }
        return ms.ToArray();
    }

    static IEnumerable<int> Find(byte[] b, byte[] sig)
    {
        for (int i = b.AsSpan().IndexOf(sig); i >= 0;)
        {
            yield return i;
            int next = b.AsSpan(i + 1).IndexOf(sig);
            i = next < 0 ? -1 : i + 1 + next;
        }
    }

    // ------------------------------------------------------------------ safetensors headers

    static IEnumerable<FuzzCase> SafeTensorsHeaders(int seed, int count)
    {
        var r = new Random(seed);
        string[] dtypes = ["\"F32\"", "\"U8\"", "\"F99\"", "32", "null", "[\"F32\"]", "\"\""];
        string[] shapes = ["[2,3]", "[]", "[-1]", "[2.5]", "[\"2\"]", "\"6\"", "null", "[4294967296,4294967296]", "[9223372036854775807,2]",
                           "[1e400]", "[[2],[3]]", "{}", "[0]", "[99999999999999999999]", "[1000000000000]"];
        string[] offsets = ["[0,24]", "[0,6]", "[24,0]", "[-8,16]", "[0]", "[0,24,48]", "[\"0\",\"24\"]", "[0.0,24.0]", "null", "{\"a\":1}",
                            "[0,9223372036854775807]", "[0,99999999999999999999]", "[0,1e30]"];
        for (int i = 0; i < count; i++)
        {
            string dtype = r.Next(3) == 0 ? dtypes[r.Next(dtypes.Length)] : "\"F32\"";
            string shape = r.Next(2) == 0 ? shapes[r.Next(shapes.Length)] : "[2,3]";
            string off = r.Next(2) == 0 ? offsets[r.Next(offsets.Length)] : "[0,24]";
            string entry = $"{{\"dtype\":{dtype},\"shape\":{shape},\"data_offsets\":{off}}}";
            string json = (r.Next(8)) switch
            {
                0 => $"{{\"w\":{entry},\"w\":{entry}}}",                          // duplicate key
                1 => $"{{\"__metadata__\":{(r.Next(2) == 0 ? "{\"a\":1}" : "[1]")},\"w\":{entry}}}",
                2 => r.Next(2) == 0 ? "[1,2]" : "42",
                3 => new string('[', 5000) + new string(']', 5000),
                _ => $"{{\"w\":{entry}}}",
            };
            byte[] h = Encoding.UTF8.GetBytes(json);
            if (r.Next(8) == 0) { h = [.. h[..^1], 0xC3, 0x28, .. h[^1..]]; }   // invalid UTF-8
            ulong hl = (ulong)h.Length;
            string lenWhat = "";
            switch (r.Next(8))
            {
                case 0: hl = ulong.MaxValue; lenWhat = " length 2^64-1"; break;
                case 1: hl = (ulong)h.Length + 1000; lenWhat = " length past the end"; break;
                case 2: hl = 0; lenWhat = " length 0"; break;
                case 3: hl = 200_000_000; lenWhat = " length 200 MB"; break;
            }
            var file = new List<byte>();
            file.AddRange(BitConverter.GetBytes(hl));
            file.AddRange(h);
            file.AddRange(new byte[24]);
            var bytes = file.ToArray();
            if (r.Next(10) == 0) bytes = bytes[..r.Next(0, bytes.Length)];
            yield return new FuzzCase("safetensors", i, $"{Clip(json)}{lenWhat}", bytes, ".safetensors");
        }
    }

    static string Clip(string s) => s.Length <= 90 ? s : s[..90] + "...";

    // ------------------------------------------------------------------ npy headers

    public static byte[] NpyBytes(string header, int dataBytes, int major = 1, long? headerLen = null)
    {
        var h = Encoding.Latin1.GetBytes(header + "\n");
        var b = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        if (major == 1) b.AddRange(BitConverter.GetBytes((ushort)(headerLen ?? h.Length)));
        else b.AddRange(BitConverter.GetBytes((uint)(headerLen ?? h.Length)));
        b.AddRange(h);
        b.AddRange(new byte[dataBytes]);
        return b.ToArray();
    }

    public static byte[] NpzOf(byte[] npy, bool deflate = false)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        using (var s = zip.CreateEntry("arr_0.npy", deflate ? CompressionLevel.SmallestSize : CompressionLevel.NoCompression).Open())
            s.Write(npy);
        return ms.ToArray();
    }

    static IEnumerable<FuzzCase> NpyHeaders(int seed, int count)
    {
        var r = new Random(seed);
        string[] descrs = ["|u1", "<f4", "<c8", ">f4", "|O", "", "<i8"];
        string[] shapes = ["(2, 4, 4, 3)", "(96,)", "()", "(-1,)", "(3.5,)", "('a',)", "(2**70,)", "(99999999999999999999,)",
                           "(4294967296, 4294967296)", "(1000000000,)", "(0, 4)", "(,)",
                               "(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34)",
                           "(9223372036854775807, 2)", "(2 4)"];
        for (int i = 0; i < count; i++)
        {
            string descr = r.Next(3) == 0 ? descrs[r.Next(descrs.Length)] : "|u1";
            string shape = r.Next(3) != 0 ? shapes[r.Next(shapes.Length)] : "(2, 4, 4, 3)";
            string fortran = r.Next(6) == 0 ? "True" : "False";
            string header = r.Next(12) == 0 ? "{'descr': '|u1'}" : $"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}";
            int major = r.Next(5) == 0 ? new[] { 2, 3, 0, 9 }[r.Next(4)] : 1;
            long? hl = r.Next(6) == 0 ? new long[] { 0, 0xFFFF, int.MaxValue, 0xFFFFFFFF, 5 }[r.Next(5)] : null;
            if (major == 1 && hl > 0xFFFF) hl = 0xFFFF;
            byte[] npy = NpyBytes(header, r.Next(4) == 0 ? r.Next(0, 96) : 96, major, hl);
            if (r.Next(10) == 0) npy = npy[..r.Next(0, npy.Length)];
            yield return new FuzzCase("npy", i, $"v{major} {(hl is null ? "" : $"header length {hl} ")}{header}", NpzOf(npy, deflate: r.Next(4) == 0), ".npz");
        }
    }

    // ------------------------------------------------------------------ PNG / JPEG chunks

    static byte[] Encode(bool png, int w, int h)
    {
        var px = new byte[w * h * 3];
        for (int k = 0; k < px.Length; k++) px[k] = (byte)(k * 37);
        using var ms = new MemoryStream();
        var writer = new StbImageWriteSharp.ImageWriter();
        if (png) writer.WritePng(px, w, h, StbImageWriteSharp.ColorComponents.RedGreenBlue, ms);
        else writer.WriteJpg(px, w, h, StbImageWriteSharp.ColorComponents.RedGreenBlue, ms, 90);
        return ms.ToArray();
    }

    /// <summary>A valid PNG of <paramref name="w"/> x <paramref name="h"/> grey pixels, all black, built chunk by chunk (tiny for any size).</summary>
    public static byte[] BlackPng(int w, int h)
    {
        var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]);
        void Chunk(string type, byte[] data)
        {
            var len = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(len, (uint)data.Length); ms.Write(len);
            var td = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            ms.Write(td);
            var crc = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(td)); ms.Write(crc);
        }
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)w); BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)h);
        ihdr[8] = 8; ihdr[9] = 0;   // 8-bit grey
        Chunk("IHDR", ihdr);
        var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[w + 1];
            for (int y = 0; y < h; y++) z.Write(row);
        }
        Chunk("IDAT", raw.ToArray());
        Chunk("IEND", []);
        return ms.ToArray();
    }

    static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var x in data)
        {
            c ^= x;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFFu;
    }

    static IEnumerable<FuzzCase> Images(int seed, int count)
    {
        var r = new Random(seed);
        byte[] png = Encode(true, 16, 16), jpg = Encode(false, 16, 16);
        for (int i = 0; i < count; i++)
        {
            bool isPng = i % 2 == 0;
            byte[] b = (byte[])(isPng ? png : jpg).Clone();
            string what;
            switch (r.Next(5))
            {
                case 0: b = b[..r.Next(1, b.Length - 1)]; what = $"truncated to {b.Length} of {(isPng ? png : jpg).Length} bytes"; break;
                case 1:
                    {
                        int n = r.Next(1, 6);
                        for (int k = 0; k < n; k++) b[r.Next(b.Length)] = (byte)r.Next(256);
                        what = $"{n} random bytes changed";
                        break;
                    }
                case 2:
                    {   // the header's dimensions set to huge values
                        uint[] dims = [0, 1, 65535, 100_000, 1_000_000, 0x7FFFFFFF, 0xFFFFFFFF];
                        uint w = dims[r.Next(dims.Length)], h = dims[r.Next(dims.Length)];
                        if (isPng) { BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(16), w); BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(20), h); }
                        else
                        {
                            int sof = b.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
                            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(sof + 5), (ushort)Math.Min(h, 65535));
                            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(sof + 7), (ushort)Math.Min(w, 65535));
                        }
                        what = $"header says {w}x{h}";
                        break;
                    }
                case 3:
                    {   // a real, tiny, very elongated or very large image
                        (int w, int h) = new[] { (1, 1_000_000), (1_000_000, 1), (20_000, 20_000), (3, 50_000) }[r.Next(4)];
                        b = BlackPng(w, h);
                        isPng = true;
                        what = $"a valid {w}x{h} PNG of {b.Length} bytes";
                        break;
                    }
                default:
                    {   // a chunk or segment length field changed
                        if (isPng)
                        {
                            int idat = b.AsSpan().IndexOf("IDAT"u8) - 4;
                            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(idat), (uint)r.Next());
                            what = "IDAT length changed";
                        }
                        else
                        {
                            int sos = b.AsSpan().IndexOf([(byte)0xFF, (byte)0xDA]);
                            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(sos + 2), (ushort)r.Next(65536));
                            what = "SOS segment length changed";
                        }
                        break;
                    }
            }
            yield return new FuzzCase("image", i, $"{(isPng ? "PNG" : "JPEG")}: {what}", b, isPng ? ".png" : ".jpg");
        }
    }

    // ------------------------------------------------------------------ configs

    static readonly (string section, string key)[] ConfigKeys =
    [
        ("tokenizer", "vocab_size"), ("tokenizer", "z_channels"), ("tokenizer", "ch"), ("tokenizer", "ch_mult"), ("tokenizer", "num_res_blocks"),
        ("tokenizer", "in_channels"), ("tokenizer", "quant_conv_ks"), ("tokenizer", "quant_resi"), ("tokenizer", "patch_nums"), ("tokenizer", "beta"),
        ("transformer", "arch"), ("transformer", "depth"), ("transformer", "embed_dim"), ("transformer", "num_heads"), ("transformer", "num_classes"),
        ("transformer", "mlp_ratio"), ("transformer", "norm_eps"), ("transformer", "kernel_size"), ("transformer", "refine_step"), ("transformer",
            "class_names"),
        ("training", "epochs"), ("training", "batch_size"), ("training", "lr"), ("training", "betas"), ("training", "sche"), ("training", "wp"),
        ("training", "ratio_k"), ("training", "log_every"), ("training", "drop_path_rate"), ("training", "tok_betas"),
    ];

    static readonly string[] ConfigValues =
    [
        "null", "\"text\"", "-1", "0", "1e308", "2147483647", "-2147483648", "2147483648", "1.5", "true", "[]", "{}", "[null]",
        "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", "1e-9", "\"NaN\"", "\"lin\"", "\"linNaN\"", "\"lin1e309\"",
        "[1, 2, 3]", "[3, 2, 1]", "65536", "100000", "[0.9, \"x\"]", "[1,2,4,8,16,32,64,128,256,512,1024]", "1000000",
    ];

    static IEnumerable<FuzzCase> Configs(int seed, int count)
    {
        var r = new Random(seed);
        string[] sections = ["tokenizer", "transformer", "training"];
        var valid = new Dictionary<string, Dictionary<string, string>>
        {
            ["tokenizer"] = new()
            {
                ["vocab_size"] = "64", ["z_channels"] = "8", ["ch"] = "32", ["ch_mult"] = "[1, 2, 2]", ["num_res_blocks"] = "1",
                ["in_channels"] = "1", ["using_sa"] = "false", ["using_mid_sa"] = "false", ["patch_nums"] = "[1, 2, 4, 8]"
            },
            ["transformer"] = new()
            {
                ["arch"] = "\"mvar\"", ["depth"] = "2", ["embed_dim"] = "64", ["num_heads"] = "2", ["num_classes"] = "10",
                ["kernel_size"] = "3", ["refine_step"] = "3"
            },
            ["training"] = new() { ["epochs"] = "2", ["batch_size"] = "8", ["lr"] = "1e-3", ["ratio_k"] = "2" },
        };
        string[] derived = ["image_size", "head_dim", "token_count", "downsample", "is_mvar", "learning_rate", "final_wd"];
        for (int i = 0; i < count; i++)
        {
            var c = valid.ToDictionary(kv => kv.Key, kv => new Dictionary<string, string>(kv.Value));
            var nulled = new HashSet<string>();
            var what = new List<string>();
            int edits = r.Next(1, 4);
            for (int k = 0; k < edits; k++)
            {
                switch (r.Next(6))
                {
                    case 0:
                    case 1:
                    case 2:
                        {
                            var (s, key) = ConfigKeys[r.Next(ConfigKeys.Length)];
                            string v = ConfigValues[r.Next(ConfigValues.Length)];
                            c[s][key] = v;
                            what.Add($"{s}.{key}={v}");
                            break;
                        }
                    case 3:
                        {
                            string s = sections[r.Next(3)];
                            string key = r.Next(2) == 0 ? derived[r.Next(derived.Length)] : "bogus_key";
                            c[s][key] = "1";
                            what.Add($"{s}.{key} added");
                            break;
                        }
                    case 4: { string s = sections[r.Next(3)]; nulled.Add(s); what.Add($"{s}=null"); break; }
                    default:
                        {
                            string s = sections[r.Next(3)];
                            var keys = c[s].Keys.ToList();
                            if (keys.Count > 0) { string key = keys[r.Next(keys.Count)]; c[s].Remove(key); what.Add($"{s}.{key} removed"); }
                            break;
                        }
                }
            }
            var sb = new StringBuilder("{");
            sb.AppendJoin(", ",
                sections.Select(s => nulled.Contains(s) ? $"\"{s}\": null"
                : $"\"{s}\": {{{string.Join(", ", c[s].Select(kv => $"\"{kv.Key}\": {kv.Value}"))}}}"));
            if (r.Next(15) == 0) { sb.Append(", \"training\": {}"); what.Add("duplicate training section"); }
            sb.Append('}');
            yield return new FuzzCase("config", i, string.Join("; ", what), Encoding.UTF8.GetBytes(sb.ToString()), ".json");
        }
    }
}
