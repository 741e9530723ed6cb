using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mvar.IO;

/// <summary>How benchmark and comparison reports are written as JSON: snake_case keys, indented, NaN/Infinity allowed.</summary>
public static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize<T>(T report) => JsonSerializer.Serialize(report, Options) + "\n";
}
