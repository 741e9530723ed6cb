using Mvar.Kernels;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Tests.Kernels;

/// <summary>libtorch's oneDNN and int8 linear operators reached through the TorchScript archive.</summary>
public class LibTorchOpsTests
{

    [Theory]
    [InlineData(1, 64, 96)]
    [InlineData(8, 128, 384)]
    [InlineData(338, 96, 64)]
    public void OneDnnLinearOnAPackedWeightIsTheFloatLinear(long rows, long inF, long outF)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(1);
        var x = randn(rows, inF, generator: g); var w = randn(outF, inF, generator: g).div(16); var b = randn(outF, generator: g);
        var expected = F.linear(x, w, b);
        var packed = LibTorchOps.OneDnnPack(w, rows);
        var y = LibTorchOps.OneDnnLinear(x, packed, b);
        Assert.Equal(expected.shape, y.shape);
        Assert.True(y.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max diff {(y - expected).abs().max().item<float>()}");
        Assert.True(LibTorchOps.OneDnnLinear(x, packed, null).allclose(F.linear(x, w), rtol: 1e-4, atol: 1e-5));
        // the layout hint is only a hint: other row counts give the same product
        var x2 = randn(3, inF, generator: g);
        Assert.True(LibTorchOps.OneDnnLinear(x2, packed, b).allclose(F.linear(x2, w, b), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Int8LinearIsCloseToTheFloatLinearAndFarFromExact()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(2);
        var x = randn(32, 256, generator: g); var w = randn(128, 256, generator: g).div(16); var b = randn(128, generator: g);
        var expected = F.linear(x, w, b);
        long i = LibTorchOps.Int8Pack(w, b);
        var y = LibTorchOps.Int8Linear(x, i);
        double err = TensorAssert.RelativeError(expected, y);
        Assert.InRange(err, 1e-5, 0.02);   // 8-bit weights and activations: about 1 % off, never bitwise
        Assert.NotEqual(i, LibTorchOps.Int8Pack(w, null));   // every pack has its own index
    }

    [Fact]
    public void KernelNamesParseAndABadOneIsAClearError()
    {
        foreach (var k in Enum.GetValues<GemmKernel>()) Assert.Equal(k, GemmKernels.Parse(k.Name()));
        var e = Assert.Throws<MvarException>(() => GemmKernels.Parse("cublas"));
        Assert.Contains("cublas", e.Message);
        Assert.Contains("onednn", e.Message);
    }
}
