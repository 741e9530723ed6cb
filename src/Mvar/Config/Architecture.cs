using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mvar.Config;

/// <summary>
/// The two transformers: VAR (block-causal over all scales, KV cache) and MVAR (scale- and spatial-Markov). Named
/// "var" / "mvar" only where text meets the library: config JSON (<c>transformer.arch</c>), the CLI's <c>--arch</c>,
/// checkpoints' and run folders' records, result files. Everything the two differ in is answered by the
/// <see cref="Transformer.IAttentionPattern"/> of the architecture (made by <see cref="Transformer.AttentionPatterns"/>).
/// </summary>
[JsonConverter(typeof(ArchitectureJsonConverter))]
public enum Architecture { Var, Mvar }

public static class Architectures
{
    /// <summary>The name of the architecture in files and on the command line: "var" or "mvar".</summary>
    public static string Name(this Architecture a) => a switch
    {
        Architecture.Var => "var",
        Architecture.Mvar => "mvar",
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, "not an architecture"),
    };

    public static bool TryParse(string? name, out Architecture arch)
    {
        switch (name)
        {
            case "var": arch = Architecture.Var; return true;
            case "mvar": arch = Architecture.Mvar; return true;
            default: arch = default; return false;
        }
    }

    /// <summary>The architecture named <paramref name="name"/>; an <see cref="MvarException"/> naming <paramref name="what"/> and the bad value
    /// otherwise.</summary>
    public static Architecture Parse(string? name, string what = "the architecture") =>
        TryParse(name, out var a) ? a : throw new MvarException(MustBe(what, name));

    /// <summary>"WHAT must be var or mvar, got "NAME"".</summary>
    public static string MustBe(string what, string? name) => $"{what} must be var or mvar, got \"{name}\"";
}

/// <summary>Writes and reads an <see cref="Architecture"/> as its name ("var", "mvar") in every JSON file.</summary>
public sealed class ArchitectureJsonConverter : JsonConverter<Architecture>
{
    public override Architecture Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return Architectures.TryParse(name, out var a) ? a : throw new JsonException(Architectures.MustBe("arch", name));
    }

    public override void Write(Utf8JsonWriter writer, Architecture value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name());
}
