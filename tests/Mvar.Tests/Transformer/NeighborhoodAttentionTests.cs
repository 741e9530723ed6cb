using Mvar.Transformer;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static Mvar.Tests.Transformer.ParityData;

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

    [Fact]
    public void KernelLargerThanTheMapIsRejected()
    {
        Assert.Throws<ArgumentException>(() => NeighborhoodAttention2d.WindowStarts(4, 5));
    }
}
