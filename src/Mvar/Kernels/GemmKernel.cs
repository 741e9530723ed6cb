namespace Mvar.Kernels;

/// <summary>
/// Which GEMM runs the transformer's linear layers at inference. <see cref="Mkl"/> is libtorch's float32 sgemm (the
/// parity path); <see cref="OneDnn"/> is float32 on a weight prepacked in oneDNN's layout (the same products summed in
/// another order: differences of about 1e-6 relative); <see cref="Int8"/> quantises the weights per output channel and
/// the activations per call (FBGEMM, an approximation whose quality is measured in bench/RESULTS.md).
/// </summary>
public enum GemmKernel { Mkl, OneDnn, Int8 }

public static class GemmKernels
{
    /// <summary>The names <c>--gemm</c> takes.</summary>
    public static string Name(this GemmKernel k) => k switch { GemmKernel.Mkl => "mkl", GemmKernel.OneDnn => "onednn", _ => "int8" };

    public static GemmKernel Parse(string name) => name.ToLowerInvariant() switch
    {
        "mkl" => GemmKernel.Mkl,
        "onednn" or "dnnl" or "mkldnn" => GemmKernel.OneDnn,
        "int8" => GemmKernel.Int8,
        _ => throw new MvarException($"the GEMM kernel must be mkl, onednn or int8, got \"{name}\""),
    };
}
