using Mvar.Metrics;
using static TorchSharp.torch;

namespace Mvar.Tests.Metrics;

public class CodebookUsageTests
{
    [Fact]
    public void UsageAndPerplexityOfKnownHistograms()
    {
        // all tokens on one code: 1 code of 8 used, perplexity 1
        var one = CodeUsage.Of([5, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Equal((5L, 1, 12.5), (one.Tokens, one.UsedCodes, one.UsagePercent));
        Assert.Equal(1.0, one.Perplexity, 12);
        // two codes equally often: perplexity 2 however large the vocabulary
        var two = CodeUsage.Of([3, 0, 3, 0]);
        Assert.Equal((2, 50.0), (two.UsedCodes, two.UsagePercent));
        Assert.Equal(2.0, two.Perplexity, 12);
        // uniform over all codes: perplexity = vocabulary
        Assert.Equal(4.0, CodeUsage.Of([7, 7, 7, 7]).Perplexity, 12);
        // p = (3/4, 1/4): exp(H) = 1 / (0.75^0.75 * 0.25^0.25) = 1.7548
        var skew = CodeUsage.Of([3, 1]);
        Assert.Equal(1 / (Math.Pow(0.75, 0.75) * Math.Pow(0.25, 0.25)), skew.Perplexity, 12);
        Assert.Equal(100.0, skew.UsagePercent);
    }

    [Fact]
    public void TheHistogramCountsEachScaleAndAllScalesTogether()
    {
        using var scope = NewDisposeScope();
        var h = new CodebookHistogram(vocabSize: 4, scales: 2);
        h.Add([tensor(new long[] { 0, 0 }).view(2, 1), tensor(new long[] { 0, 1, 2, 3, 0, 1, 2, 3 }).view(2, 4)]);
        h.Add([tensor(new long[] { 1 }).view(1, 1), tensor(new long[] { 3, 3, 3, 3 }).view(1, 4)]);
        Assert.Equal(new long[] { 2, 1, 0, 0 }, h.Counts(0));
        Assert.Equal(new long[] { 2, 2, 2, 6 }, h.Counts(1));
        var s = h.PerScale();
        Assert.Equal((3L, 2, 50.0), (s[0].Tokens, s[0].UsedCodes, s[0].UsagePercent));
        Assert.Equal(CodeUsage.Of([2, 1, 0, 0]).Perplexity, s[0].Perplexity, 12);
        var all = h.AllScales();
        Assert.Equal(CodeUsage.Of([4, 3, 2, 6]), all);
        Assert.Throws<ArgumentException>(() => h.Add([tensor(new long[] { 4 }).view(1, 1), tensor(new long[] { 0, 0, 0, 0 }).view(1, 4)]));
    }
}
