using Mvar.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Transformer;

/// <summary>
/// nn.Linear (the same parameters "weight" (out, in) and "bias", drawn by nn.Linear itself, so initialisation and
/// checkpoints are unchanged) whose inference GEMM can run on a packed copy of the weight (<see cref="Pack"/>): oneDNN's
/// layout or FBGEMM's int8. Training, gradients and the default kernel use <c>F.linear</c> (libtorch's MKL sgemm).
/// </summary>
public sealed class PackedLinear : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;
    readonly long inFeatures, outFeatures;
    GemmKernel kernel = GemmKernel.Mkl;
    Tensor? onednnWeight;
    long int8Index = -1;
    bool released;

    public PackedLinear(long inFeatures, long outFeatures, bool hasBias = true) : base(nameof(PackedLinear))
    {
        this.inFeatures = inFeatures; this.outFeatures = outFeatures;
        // nn.Linear's own draws; its tensors are taken over (the same storage, not copied: a copy would stay resident
        // until the garbage collector finalises the source, which it does not hurry for memory it cannot see)
        using var source = nn.Linear(inFeatures, outFeatures, hasBias);
        weight = new Parameter(source.weight!.detach());
        bias = hasBias ? new Parameter(source.bias!.detach()) : null;
        register_parameter(nameof(weight), weight);
        if (bias is not null) register_parameter(nameof(bias), bias);
    }

    /// <summary>The weight (out, in), as nn.Linear names it.</summary>
    public Parameter Weight => weight;
    public Parameter? Bias => bias;
    /// <summary>Elements of the float weight given back by <see cref="Pack"/> (0 while it is kept).</summary>
    public long ReleasedElements => released ? outFeatures * inFeatures : 0;
    public GemmKernel Kernel => kernel;

    /// <summary>Whether the float weight was released after packing (the module then only runs packed inference).</summary>
    public bool Released => released;

    /// <summary>
    /// Packs the weight for <paramref name="to"/> (a no-op for <see cref="GemmKernel.Mkl"/>); <paramref name="rows"/> is
    /// the typical number of input rows, oneDNN's layout hint. Inference without gradients then runs on the packed
    /// copy. The float weight stays (training, saving, the MKL path) unless <paramref name="releaseFloatWeight"/>: then
    /// its memory is given back (the packed copy replaces it rather than doubling it) and the module can only infer.
    /// </summary>
    public void Pack(GemmKernel to, long rows, bool releaseFloatWeight = false)
    {
        if (released) throw new InvalidOperationException("the float weight of this linear layer was released: it cannot be packed again");
        if (to != GemmKernel.Mkl && weight.dtype != ScalarType.Float32)
            throw new MvarException($"the {to.Name()} GEMM kernel packs float32 weights, not {weight.dtype} (use it with the float32 compute dtype)");
        using var _ = no_grad();
        onednnWeight?.Dispose(); onednnWeight = null;
        if (to == GemmKernel.OneDnn) onednnWeight = LibTorchOps.OneDnnPack(weight, rows).DetachFromDisposeScope();
        else if (to == GemmKernel.Int8) int8Index = LibTorchOps.Int8Pack(weight, bias);
        kernel = to;
        if (releaseFloatWeight && to != GemmKernel.Mkl)
        {
            weight.set_(empty(0, dtype: weight.dtype));
            released = true;
        }
    }

    public override Tensor forward(Tensor x) => Forward(x, bias);

    /// <summary>x (..., in) W^T + <paramref name="b"/> (a bias other than the module's, e.g. q/k/v biases concatenated).</summary>
    public Tensor Forward(Tensor x, Tensor? b)
    {
        bool packed = kernel != GemmKernel.Mkl && !training && !is_grad_enabled() && x.dtype == ScalarType.Float32;
        if (!packed)
        {
            if (released) throw new
                InvalidOperationException("this linear layer keeps only its packed weight: it runs float32 inference without gradients only");
            return F.linear(x, weight, b);
        }
        var x_NI = x.reshape(-1, x.shape[^1]);
        Tensor y_NO;
        if (kernel == GemmKernel.OneDnn) y_NO = LibTorchOps.OneDnnLinear(x_NI, onednnWeight!, b);
        else
        {
            // the pack holds the module's own bias; another one is added afterwards
            if (!ReferenceEquals(b, bias) && bias is not null) throw new ArgumentException("an int8-packed linear with a bias of its own takes no other bias");
            y_NO = LibTorchOps.Int8Linear(x_NI, int8Index);
            if (!ReferenceEquals(b, bias)) y_NO = y_NO.add_(b!);
        }
        return y_NO.view([.. x.shape[..^1], outFeatures]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) onednnWeight?.Dispose();
        base.Dispose(disposing);
    }
}
