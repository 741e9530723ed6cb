using Mvar.Tokens;
using static TorchSharp.torch;

namespace Mvar.Tests.Tokens;

public class TokenMapsTests
{
    static readonly ScaleLayout Layout = new([1, 2, 3]);

    [Fact]
    public void ConcatAndSplitRoundTrip()
    {
        using var scope = NewDisposeScope();
        var seq_BL = arange(2 * Layout.L, dtype: ScalarType.Int64).reshape(2, Layout.L);
        using var maps = TokenMaps.Split(seq_BL, Layout);
        Assert.Equal((3, 2L), (maps.Count, maps.Batch));
        Assert.Equal(new long[] { 2, 4 }, maps[1].shape);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, maps[1][0].data<long>().ToArray());
        Assert.True(maps.Concat().eq(seq_BL).all().item<bool>());
        Assert.Equal(new long[] { 19, 20, 21, 22, 23, 24, 25, 26, 27 }, maps.Sample(1)[2]);
    }

    [Fact]
    public void FromSamplesIsTheInverseOfSample()
    {
        long[][][] samples = [[[1], [2, 3, 4, 5], [6, 7, 8, 9, 10, 11, 12, 13, 14]], [[0], [0, 1, 0, 1], [9, 9, 9, 9, 9, 9, 9, 9, 9]]];
        using var maps = TokenMaps.FromSamples(Layout, samples);
        Assert.Equal(2L, maps.Batch);
        for (int b = 0; b < 2; b++) Assert.Equal(samples[b], maps.Sample(b));
    }

    [Fact]
    public void ShapesThatDoNotFitTheLayoutAreRefused()
    {
        using var scope = NewDisposeScope();
        Assert.Contains("2 token maps for 3 scales", Assert.Throws<MvarException>(() => new TokenMaps(Layout, [zeros(1, 1), zeros(1, 4)])).Message);
        Assert.Contains("scale 1 is (1, 3), expected (1, 4)",
            Assert.Throws<MvarException>(() => new TokenMaps(Layout, [zeros(1, 1), zeros(1, 3), zeros(1, 9)])).Message);
        Assert.Contains("scale 2 is (2, 9), expected (1, 9)",
            Assert.Throws<MvarException>(() => new TokenMaps(Layout, [zeros(1, 1), zeros(1, 4), zeros(2, 9)])).Message);
        Assert.Contains("is not (B, 14)", Assert.Throws<MvarException>(() => TokenMaps.Split(zeros(2, 13), Layout)).Message);
        Assert.Contains("sample 1: scale 1 has 3 tokens, expected 4",
            Assert.Throws<MvarException>(() => TokenMaps.FromSamples(Layout, [[[1], [1, 2, 3, 4], new long[9]], [[1], [1, 2, 3], new long[9]]])).Message);
    }
}
