using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>
/// Keys and values of the tokens already generated, one slot per block (VAR inference). The tensors are kept out of
/// any dispose scope, so a scale step may run inside its own scope; dispose the cache when the sample is done.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] k, v;

    public KvCache(int depth) { k = new Tensor?[depth]; v = new Tensor?[depth]; }

    /// <summary>Appends this step's k and v (B, H, l, c) of block <paramref name="block"/>; returns everything so far.</summary>
    public (Tensor k_BHLc, Tensor v_BHLc) Append(int block, Tensor k_BHlc, Tensor v_BHlc)
    {
        var kAll = k[block] is null ? k_BHlc.clone() : cat([k[block]!, k_BHlc], dim: 2);
        var vAll = v[block] is null ? v_BHlc.clone() : cat([v[block]!, v_BHlc], dim: 2);
        k[block]?.Dispose(); v[block]?.Dispose();
        k[block] = kAll.DetachFromDisposeScope();
        v[block] = vAll.DetachFromDisposeScope();
        return (k[block]!, v[block]!);   // owned by the cache: callers must not dispose them
    }

    /// <summary>Bytes held by the cached keys and values of all blocks.</summary>
    public long Bytes
    {
        get
        {
            long n = 0;
            for (int i = 0; i < k.Length; i++)
            {
                if (k[i] is { } ki) n += ki.NumberOfElements * ki.ElementSize;
                if (v[i] is { } vi) n += vi.NumberOfElements * vi.ElementSize;
            }
            return n;
        }
    }

    public void Dispose()
    {
        for (int i = 0; i < k.Length; i++) { k[i]?.Dispose(); v[i]?.Dispose(); k[i] = v[i] = null; }
    }
}
