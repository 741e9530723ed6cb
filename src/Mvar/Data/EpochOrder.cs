namespace Mvar.Data;

/// <summary>
/// The seeded data order: epoch e visits the samples in a permutation that depends only on (seed, e), cut into
/// iters_per_epoch batches of batch_size (the last partial batch is dropped, like the official DataLoader's
/// drop_last). Global step g is batch g % iters of epoch g / iters, so a resumed run sees the same batches.
/// </summary>
public sealed class EpochOrder
{
    readonly int count, seed;
    int cachedEpoch = -1;
    int[] cached = [];

    public int BatchSize { get; }
    public int ItersPerEpoch { get; }

    public EpochOrder(int count, int batchSize, int seed)
    {
        if (count <= 0) throw new MvarException("the data set is empty");
        if (batchSize <= 0) throw new MvarException($"batch_size must be positive, got {batchSize}");
        this.count = count; this.seed = seed;
        BatchSize = Math.Min(batchSize, count);
        ItersPerEpoch = Math.Max(1, count / BatchSize);
    }

    /// <summary>The permutation of epoch <paramref name="epoch"/> (Fisher-Yates with a generator seeded by (seed, epoch)).</summary>
    public int[] Permutation(int epoch)
    {
        if (epoch == cachedEpoch) return cached;
        var p = Enumerable.Range(0, count).ToArray();
        var rng = new Random(Mix(seed, epoch, 0x5eed));
        for (int i = count - 1; i > 0; i--) { int j = rng.Next(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        cachedEpoch = epoch; cached = p;
        return p;
    }

    /// <summary>Sample indices of global step <paramref name="step"/>.</summary>
    public int[] Batch(long step)
    {
        int epoch = (int)(step / ItersPerEpoch), it = (int)(step % ItersPerEpoch);
        return Permutation(epoch).AsSpan(it * BatchSize, BatchSize).ToArray();
    }

    /// <summary>A deterministic 32-bit seed from a few integers (for per-sample / per-step generators).</summary>
    public static int Mix(long a, long b, long c)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var v in new[] { a, b, c })
        {
            h ^= (ulong)v + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
            h *= 0xBF58476D1CE4E5B9UL; h ^= h >> 31;
        }
        return (int)(h & 0x7FFFFFFF);
    }
}
