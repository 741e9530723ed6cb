using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>The names of the transformer's compute types (<see cref="ScaleTransformer.ToComputeType"/>): float32 and bf16.</summary>
public static class ComputeTypes
{
    /// <summary>"float32" or "bf16" (the names <c>--dtype</c> takes).</summary>
    public static string Name(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float16 => "fp16",
        _ => t.ToString(),
    };

    /// <summary>Parses <c>--dtype</c>: float32 / fp32 or bf16 / bfloat16.</summary>
    public static ScalarType Parse(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "fp32" or "float" => ScalarType.Float32,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        _ => throw new MvarException($"the compute dtype must be float32 or bf16, got \"{name}\""),
    };
}
