using Mvar.Transformer;
using Xunit.Abstractions;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Transformer;

public class NeighborhoodAttentionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sym_6x6_k3")]
    [InlineData("sym_6x6_k5")]
    [InlineData("asym_5x7_k3")]
    [InlineData("asym_5x7_k3x5")]
    public void MatchesOfficialNattenSemantics(string name)
    {
        using var _ = no_grad();
        var exp = Tensors("expected_na2d.pth");
        var kernel = exp[name + "_kernel_hw"].data<long>().ToArray();
        double scale = exp[name + "_scale"].item<double>();
        Tensor P(string key) => exp[$"{name}_{key}"].permute(0, 3, 1, 2, 4);   // (B, H, W, heads, d) -> (B, heads, H, W, d)
        int H = (int)exp[name + "_q"].shape[1], W = (int)exp[name + "_q"].shape[2];

        Assert.Equal(exp[name + "_row_start"].data<long>().ToArray(), NeighborhoodAttention2d.WindowStarts(H, (int)kernel[0]));
        Assert.Equal(exp[name + "_col_start"].data<long>().ToArray(), NeighborhoodAttention2d.WindowStarts(W, (int)kernel[1]));
        using var o = NeighborhoodAttention2d.Forward(P("q"), P("k"), P("v"), (int)kernel[0], (int)kernel[1], scale);
        using var ours = o.permute(0, 2, 3, 1, 4);
        AssertClose(exp[name + "_out"], ours, 1e-5, name);
        output.WriteLine($"{name}: max|diff| {MaxAbsDiff(ours, exp[name + "_out"]):g3}");
    }

    [Theory]
    [InlineData(8, 8, 3, 3)]
    [InlineData(13, 13, 7, 7)]
    [InlineData(5, 9, 3, 5)]      // non-square map, asymmetric kernel
    [InlineData(6, 4, 5, 1)]
    [InlineData(4, 7, 4, 6)]      // even kernels
    public void EqualsDenseMaskedAttentionOnRandomInputs(int H, int W, int kh, int kw)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)(1234 + H * 31 + W));
        using var q = randn([2, 3, H, W, 8], generator: g);
        using var k = randn([2, 3, H, W, 8], generator: g);
        using var v = randn([2, 3, H, W, 8], generator: g);
        using var fast = NeighborhoodAttention2d.Forward(q, k, v, kh, kw, 0.35);
        using var dense = NeighborhoodAttention2d.DenseReference(q, k, v, kh, kw, 0.35);
        AssertClose(dense, fast, 1e-5, $"{H}x{W} k{kh}x{kw}");
    }

    [Fact]
    public void KernelAsLargeAsTheMapIsPlainAttention()
    {
        using var _ = no_grad();
        var g = new Generator(7);
        using var q = randn([1, 2, 5, 6, 4], generator: g);
        using var k = randn([1, 2, 5, 6, 4], generator: g);
        using var v = randn([1, 2, 5, 6, 4], generator: g);
        using var na = NeighborhoodAttention2d.Forward(q, k, v, 5, 6, 0.5);
        using var full = SelfAttention.DenseAttention(q.reshape(1, 2, 30, 4), k.reshape(1, 2, 30, 4), v.reshape(1, 2, 30, 4), 0.5, null);
        AssertClose(full.reshape(1, 2, 5, 6, 4), na, 1e-6, "k == map");
    }

    [Theory]
    [InlineData(24, 24, 7, 7)]    // 512 px: the first refine scale
    [InlineData(32, 32, 7, 7)]    // 512 px: the last scale
    [InlineData(64, 64, 7, 7)]    // 1024 px: the last scale
    [InlineData(20, 37, 7, 5)]    // non-square map, non-multiple of the tile, asymmetric kernel
    [InlineData(9, 70, 3, 7)]
    [InlineData(5, 9, 7, 11)]     // kernel larger than the map on both axes: plain attention
    [InlineData(3, 20, 9, 5)]     // larger on one axis only
    public void TiledPathEqualsDenseMaskedAttentionOnLargeAndOddMaps(int H, int W, int kh, int kw)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)(99 + H * 131 + W));
        var q = randn([1, 2, H, W, 8], generator: g);
        var k = randn([1, 2, H, W, 8], generator: g);
        var v = randn([1, 2, H, W, 8], generator: g);
        var dense = NeighborhoodAttention2d.DenseReference(q, k, v, kh, kw, 0.7);
        AssertClose(dense, NeighborhoodAttention2d.Forward(q, k, v, kh, kw, 0.7), 1e-5, $"{H}x{W} k{kh}x{kw}");
        // chunks of a few tiles and one (batch, head) row at a time give the same result
        AssertClose(dense, NeighborhoodAttention2d.Forward(q, k, v, kh, kw, 0.7, maxScores: 3000), 1e-5, $"{H}x{W} k{kh}x{kw} chunked");
    }

    [Fact]
    public void KernelLargerThanTheMapIsPlainAttentionAlongThatAxis()
    {
        Assert.Equal(new long[] { 0, 0, 0, 0 }, NeighborhoodAttention2d.WindowStarts(4, 5));
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var g = new Generator(8);
        var q = randn([1, 2, 4, 5, 4], generator: g);
        var k = randn([1, 2, 4, 5, 4], generator: g);
        var v = randn([1, 2, 4, 5, 4], generator: g);
        var full = SelfAttention.DenseAttention(q.reshape(1, 2, 20, 4), k.reshape(1, 2, 20, 4), v.reshape(1, 2, 20, 4), 0.5, null);
        AssertClose(full.reshape(1, 2, 4, 5, 4), NeighborhoodAttention2d.Forward(q, k, v, 9, 7, 0.5), 1e-6, "k > map");
    }

    [Fact]
    public void ANonPositiveKernelIsRejected() => Assert.Throws<ArgumentException>(() => NeighborhoodAttention2d.WindowStarts(4, 0));

    [Theory]
    [InlineData(2, 16, 64, 64)]    // MVAR-d16 at 1024 px, B=1 with guidance
    [InlineData(32, 36, 64, 64)]   // VAR-d36 shapes at batch 16 with guidance
    [InlineData(2, 16, 32, 32)]
    [InlineData(1, 1, 64, 64)]
    public void TheTiledPathNeverHoldsMoreThanItsScoreBoundAndNeverNxN(int batch, int heads, int H, int W)
    {
        long N = (long)H * W;
        var (rows, tiles, scores) = NeighborhoodAttention2d.ChunkOf(batch * heads, H, W, 7, 7);
        Assert.InRange(scores, 1, NeighborhoodAttention2d.MaxScoresPerChunk);
        Assert.True(scores / rows <= N * N / 4, $"{scores / rows} scores per (batch, head) row against N^2 = {N * N}");
        Assert.InRange(tiles, 1, (H + 7) / 8 * ((W + 7) / 8));
        // every query scores at most (8 + 6)^2 keys: O(N k^2)
        Assert.True(scores <= rows * tiles * 64L * 196);
        output.WriteLine($"B*heads {batch * heads}, {H}x{W}: {rows} rows x {tiles} tiles per chunk, {scores:N0} scores ({scores * 4 / 1048576.0:F1} MB)");
    }

    [Fact]
    public void LargeMapsUseTheTiledPathAndSmallMapsTheDenseMask()
    {
        Assert.True(NeighborhoodAttention2d.DenseMaxTokens >= 16 * 16);   // MVAR's 256 px scales stay dense
        Assert.True(NeighborhoodAttention2d.DenseMaxTokens < 24 * 24);    // 512 and 1024 px refine scales are tiled
    }
}
