using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>
/// How a tokenizer uses its codebook on one scale (or all scales together): the tokens counted, the codes used at
/// least once (and as a percentage of the vocabulary), and the perplexity <c>exp(H)</c> of the code histogram, H its
/// entropy in nats: the number of equally likely codes that would carry the same information (1 when one code takes
/// every token, the vocabulary size when all are equally frequent).
/// </summary>
public sealed record CodeUsage(long Tokens, int UsedCodes, double UsagePercent, double Perplexity)
{
    /// <summary>The usage of a histogram of code counts (its length is the vocabulary size).</summary>
    public static CodeUsage Of(IReadOnlyList<long> counts)
    {
        if (counts.Count == 0) throw new ArgumentException("a code histogram needs at least one code", nameof(counts));
        long total = counts.Sum();
        int used = counts.Count(c => c > 0);
        double entropy = 0;
        foreach (long c in counts)
            if (c > 0) { double p = (double)c / total; entropy -= p * Math.Log(p); }
        return new CodeUsage(total, used, 100.0 * used / counts.Count, total == 0 ? 0 : Math.Exp(entropy));
    }
}

/// <summary>Counts the codes a tokenizer chooses, per scale, over batches of token maps (see <see cref="CodeUsage"/>).</summary>
public sealed class CodebookHistogram(int vocabSize, int scales)
{
    readonly long[][] counts_SV = Enumerable.Range(0, scales).Select(_ => new long[vocabSize]).ToArray();

    public int VocabSize => vocabSize;

    /// <summary>Adds one batch: a (B, pn*pn) int64 token map per scale.</summary>
    public void Add(IReadOnlyList<Tensor> idx_Bl)
    {
        if (idx_Bl.Count != counts_SV.Length) throw new ArgumentException($"expected {counts_SV.Length} scales of tokens, got {idx_Bl.Count}");
        using var scope = NewDisposeScope();
        for (int si = 0; si < idx_Bl.Count; si++)
        {
            var hist = idx_Bl[si].reshape(-1).bincount(null, vocabSize).data<long>().ToArray();
            if (hist.Length != vocabSize) throw new ArgumentException($"scale {si} holds a code outside 0..{vocabSize - 1}");
            for (int v = 0; v < vocabSize; v++) counts_SV[si][v] += hist[v];
        }
    }

    /// <summary>The counts of scale <paramref name="si"/> (length: the vocabulary size).</summary>
    public IReadOnlyList<long> Counts(int si) => counts_SV[si];

    /// <summary>The usage of each scale, coarsest first.</summary>
    public CodeUsage[] PerScale() => counts_SV.Select(c => CodeUsage.Of(c)).ToArray();

    /// <summary>The usage of all scales' tokens counted together.</summary>
    public CodeUsage AllScales() =>
        CodeUsage.Of(Enumerable.Range(0, vocabSize).Select(v => counts_SV.Sum(c => c[v])).ToArray());
}
