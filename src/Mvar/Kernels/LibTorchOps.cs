using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.Kernels;

/// <summary>
/// libtorch operators TorchSharp does not bind, reached through a TorchScript module: oneDNN's linear on a prepacked
/// weight (<c>mkldnn::_reorder_linear_weight</c>, <c>mkldnn::_linear_pointwise</c>) and FBGEMM's dynamically quantised
/// int8 linear (<c>quantized::linear_prepack</c>, <c>quantized::linear_dynamic</c>). <c>torch.jit.compile</c> cannot
/// name them (its resolver knows <c>torch</c> only), but the importer of a saved module resolves <c>ops.*</c>, so the
/// module is written as a TorchScript archive (the zip layout of <c>torch.jit.save</c>, version 3) to a temporary file
/// and loaded once per process. Int8 weights live in the module (a custom class TorchSharp cannot hold) and are named
/// by their index; activations are quantised to 7 bits (reduce_range), as PyTorch does on x86, because 8-bit ones
/// saturate the 16-bit sums of AVX2's u8 x s8 multiply (15 % error with uniformly spread weights).
/// </summary>
public static class LibTorchOps
{
    const string Code = """
        class Ops(Module):
          __parameters__ = []
          __buffers__ = []
          training : bool
          packs : List[__torch__.torch.classes.quantized.LinearPackedParamsBase]
          def forward(self: __torch__.Ops, x: Tensor) -> Tensor:
            return x
          def onednn_pack(self: __torch__.Ops, w: Tensor, rows: int) -> Tensor:
            return ops.mkldnn._reorder_linear_weight(w, rows)
          def onednn_linear(self: __torch__.Ops, x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
            return ops.mkldnn._linear_pointwise(x, w, b, "none", annotate(List[Optional[number]], []), None)
          def int8_pack(self: __torch__.Ops, w: Tensor, b: Optional[Tensor]) -> int:
            packs = self.packs
            _0 = torch.append(packs, ops.quantized.linear_prepack(w, b))
            return torch.sub(torch.len(self.packs), 1)
          def int8_linear(self: __torch__.Ops, x: Tensor, i: int) -> Tensor:
            packs = self.packs
            return ops.quantized.linear_dynamic(x, packs[i], True)

        """;

    static readonly Lazy<jit.ScriptModule> module = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    static readonly object packGate = new();

    /// <summary>The oneDNN layout of a linear weight (out, in) for inputs of about <paramref name="rows"/> rows.</summary>
    public static Tensor OneDnnPack(Tensor weight_OI, long rows) => Invoke<Tensor>("onednn_pack", weight_OI.contiguous(), rows);

    /// <summary>x (..., in) times a <see cref="OneDnnPack"/>ed weight, plus the bias: (..., out), float32.</summary>
    public static Tensor OneDnnLinear(Tensor x, Tensor packed, Tensor? bias) => Invoke<Tensor>("onednn_linear", x.contiguous(), packed, bias);

    /// <summary>
    /// Quantises a linear weight (out, in) to int8 per output channel (symmetric, scale max|w| / 127) and packs it with
    /// its float bias for FBGEMM; returns the index <see cref="Int8Linear"/> takes. The pack stays for the process.
    /// </summary>
    public static long Int8Pack(Tensor weight_OI, Tensor? bias)
    {
        using var scope = NewDisposeScope();
        var w = weight_OI.detach().to_type(ScalarType.Float32).contiguous();
        var scale = w.abs().amax(new long[] { 1 }).div(127.0).clamp_min(1e-12).to_type(ScalarType.Float64);
        var q = quantize_per_channel(w, scale, zeros(w.shape[0], dtype: ScalarType.Int64), 0, ScalarType.QInt8);
        var b = bias?.detach().to_type(ScalarType.Float32).contiguous();
        lock (packGate) return ((Scalar)module.Value.invoke("int8_pack", q, b!)).ToInt64();   // appends to the module's list
    }

    /// <summary>x (..., in) times the int8 weight of <paramref name="index"/> (activations quantised per call): (..., out).</summary>
    public static Tensor Int8Linear(Tensor x, long index)
    {
        var xc = x.contiguous();
        lock (packGate) return Invoke<Tensor>("int8_linear", xc, index);   // reads the list int8_pack may be growing
    }

    /// <summary>The oneDNN methods touch no state of the module: they run without the lock.</summary>
    static T Invoke<T>(string method, params object?[] args) => (T)module.Value.invoke(method, args!);

    /// <summary>The archive's bytes: what <c>torch.jit.save</c> writes for the module above (tested by loading it).</summary>
    public static byte[] Archive()
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] bytes)
            {
                using var s = zip.CreateEntry($"ops/{name}", CompressionLevel.NoCompression).Open();
                s.Write(bytes);
            }
            Add("data.pkl", DataPickle());
            Add("code/__torch__.py", Encoding.UTF8.GetBytes(Code.Replace("\r\n", "\n")));
            Add("constants.pkl", [0x80, 0x02, (byte)')', (byte)'.']);   // protocol 2: an empty tuple
            Add("version", "3\n"u8.ToArray());
        }
        return ms.ToArray();
    }

    /// <summary>Pickle (protocol 2) of the module object: <c>__torch__.Ops</c> with training = False and packs = [].</summary>
    static byte[] DataPickle()
    {
        var p = new List<byte> { 0x80, 0x02 };
        void Text(string s) => p.AddRange(Encoding.ASCII.GetBytes(s));
        void Unicode(string s) { p.Add((byte)'X'); p.AddRange(BitConverter.GetBytes(s.Length)); Text(s); }
        Text("c__torch__\nOps\n");                 // GLOBAL
        p.Add((byte)')'); p.Add(0x81);            // EMPTY_TUPLE, NEWOBJ
        p.Add((byte)'}'); p.Add((byte)'(');       // EMPTY_DICT, MARK
        Unicode("training"); p.Add(0x89);         // NEWFALSE
        Unicode("packs"); p.Add((byte)']');       // EMPTY_LIST
        p.Add((byte)'u'); p.Add((byte)'b'); p.Add((byte)'.');   // SETITEMS, BUILD, STOP
        return p.ToArray();
    }

    static jit.ScriptModule Load()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mvar-ops-{Environment.ProcessId}-{Guid.NewGuid():N}.pt");
        File.WriteAllBytes(path, Archive());
        try { return jit.load(path); }
        catch (Exception e) { throw new MvarException($"libtorch's oneDNN/int8 operators could not be loaded: {e.Message.Split('\n')[0]}", e); }
        finally { File.Delete(path); }
    }
}
