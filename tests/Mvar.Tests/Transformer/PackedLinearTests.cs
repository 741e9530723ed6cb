using Mvar.Kernels;
using Mvar.Sampling;
using Mvar.Transformer;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Tests.Transformer;

/// <summary>PackedLinear: nn.Linear's parameters, with inference on a oneDNN or int8 packed weight.</summary>
public class PackedLinearTests
{

    [Fact]
    public void PackedLinearHasNnLinearsParametersAndInitialisation()
    {
        manual_seed(5);
        using var reference = nn.Linear(24, 40);
        manual_seed(5);
        using var packed = new PackedLinear(24, 40);
        var a = reference.state_dict(); var b = packed.state_dict();
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        Assert.All(a, kv => TensorAssert.Equal(kv.Value, b[kv.Key], kv.Key));
        // the generator's draws go on from the same place
        manual_seed(5); using var r2 = nn.Linear(24, 40); var next = randn(3);
        manual_seed(5); using var p2 = new PackedLinear(24, 40); TensorAssert.Equal(next, randn(3), "the next draws");
        using var noBias = new PackedLinear(24, 40, hasBias: false);
        Assert.Equal(["weight"], noBias.state_dict().Keys);
    }

    [Theory]
    [InlineData(GemmKernel.OneDnn, 1e-5)]
    [InlineData(GemmKernel.Int8, 0.03)]
    public void PackedKernelsRunOnlyAtInferenceAndStayCloseToMkl(GemmKernel kernel, double tolerance)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var lin = new PackedLinear(64, 48);
        var x = randn(2, 7, 64);
        var exact = F.linear(x, lin.Weight, lin.Bias);
        lin.Pack(kernel, rows: 14);
        Assert.Equal(kernel, lin.Kernel);
        lin.eval();
        TensorAssert.Equal(exact, lin.forward(x), "gradients on");   // libtorch's sgemm, bitwise
        using (no_grad())
        {
            var y = lin.forward(x);
            Assert.Equal(exact.shape, y.shape);
            double err = TensorAssert.RelativeError(exact, y);
            Assert.InRange(err, 0, tolerance);
            var extra = randn(48);                            // another bias, as q/k/v pass theirs
            if (kernel == GemmKernel.OneDnn) Assert.True(TensorAssert.RelativeError(F.linear(x, lin.Weight, extra), lin.Forward(x, extra)) < tolerance);
            else Assert.Throws<ArgumentException>(() => lin.Forward(x, extra));   // an int8 pack holds its own bias
            lin.train();
            TensorAssert.Equal(exact, lin.forward(x), "training mode");   // libtorch's sgemm
        }
    }

    [Fact]
    public void AReleasedFloatWeightLeavesOnlyPackedInference()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var lin = new PackedLinear(32, 16);
        lin.eval();
        var x = randn(5, 32);
        var exact = F.linear(x, lin.Weight, lin.Bias);
        lin.Pack(GemmKernel.OneDnn, rows: 5, releaseFloatWeight: true);
        Assert.True(lin.Released);
        Assert.Equal(0, lin.Weight.numel());                  // the memory went back
        using (no_grad()) Assert.True(TensorAssert.RelativeError(exact, lin.forward(x)) < 1e-5);
        var e = Assert.Throws<InvalidOperationException>(() => lin.forward(x));   // gradients on: there is no float weight left
        Assert.Contains("packed", e.Message);
        Assert.Throws<InvalidOperationException>(() => lin.Pack(GemmKernel.Int8, 5));
        Assert.Equal(32 * 16, lin.ReleasedElements);
    }

    [Theory]
    [InlineData(GemmKernel.OneDnn)]
    [InlineData(GemmKernel.Int8)]
    public void PackingBfloat16WeightsIsAClearErrorAndKeepsTheWeights(GemmKernel kernel)
    {
        using var lin = new PackedLinear(16, 8);
        lin.to(ScalarType.BFloat16);
        var e = Assert.Throws<MvarException>(() => lin.Pack(kernel, 4, releaseFloatWeight: true));
        Assert.Contains("float32 compute dtype", e.Message);
        Assert.False(lin.Released);
        Assert.Equal(GemmKernel.Mkl, lin.Kernel);
    }

    [Fact]
    public void AnInferenceOnlyOneDnnModelKeepsItsParameterCountAndSamplesTheSameTokens()
    {
        using var _ = no_grad();
        using var exact = ParityData.Model("mvar", "mvar.pth");
        using var packed = ParityData.Model("mvar", "mvar.pth");
        long n = exact.ParameterCount();
        packed.UseGemm(GemmKernel.OneDnn, inferenceOnly: true);
        Assert.Equal(GemmKernel.OneDnn, packed.Gemm);
        Assert.Equal(n, packed.ParameterCount());
        var options = new SamplingOptions { Cfg = 1.5, TopK = 10, TopP = 0.9, Seed = 7 };
        long[] classes = [0, 1, 2, 3];
        using var a = new ScaleSampler(exact, ParityData.Vae).Sample(classes, 0, options);
        using var b = new ScaleSampler(packed, ParityData.Vae).Sample(classes, 0, options);
        for (int si = 0; si < a.Tokens.Count; si++) TensorAssert.Equal(a.Tokens[si], b.Tokens[si], $"scale {si}");
        Assert.True(TensorAssert.RelativeError(a.FHat, b.FHat) < 1e-5);
    }
}
