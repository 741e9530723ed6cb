using System.Text.Json;
using System.Text.Json.Serialization;
using Mvar.IO;

namespace Mvar.Analysis;

/// <summary>
/// The numbers of an attention-redundancy analysis (<see cref="AttentionStatistics.Report"/>), written as JSON with
/// snake_case keys. Undefined entries (no such scale pair, no mass) are null. Indices: [query scale][source scale],
/// [query scale][kernel index], [block][...].
/// </summary>
public sealed record AttentionReport
{
    /// <summary>"var" or "mvar".</summary>
    public string Arch { get; init; } = "";
    /// <summary>Whether the model's queries attend to earlier scales (VAR): then the adjacent-scale numbers (b) apply.</summary>
    public bool AttendsEarlierScales { get; init; }
    public int[] PatchNums { get; init; } = [];
    public int[] Kernels { get; init; } = [];
    public int Images { get; init; }
    public int Depth { get; init; }
    /// <summary>MVAR: the checkpoint's neighbourhood kernel and the first scale that uses it.</summary>
    public int? KernelSize { get; init; }
    public int? RefineStep { get; init; }
    /// <summary>The curves pool the query scales from this one on.</summary>
    public int CurveFromScale { get; init; }
    /// <summary>(a) [s][t]: share of scale s's attention on scale t, averaged over heads, queries, images and blocks; rows sum to 1 (null where not measured:
    /// MVAR's neighbourhood scales).</summary>
    public double?[][] ScaleMass { get; init; } = [];
    public double?[][][] ScaleMassPerBlock { get; init; } = [];
    /// <summary>(b) [s][k]: of the mass scale s puts on scale s-1, the fraction within the k x k window around the corresponding position.</summary>
    public double?[][] AdjacentWindowFraction { get; init; } = [];
    public double?[] AdjacentWindowCurve { get; init; } = [];
    public double?[][] AdjacentWindowCurvePerBlock { get; init; } = [];
    /// <summary>[s][k]: of the mass scale s puts on itself, the fraction within the k x k window around the query (MVAR's large scales: of the unwindowed
    /// within-scale attention).</summary>
    public double?[][] OwnWindowFraction { get; init; } = [];
    public double?[] OwnWindowCurve { get; init; } = [];
    public double?[][] OwnWindowCurvePerBlock { get; init; } = [];

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static AttentionReport FromJson(string json) => JsonSerializer.Deserialize<AttentionReport>(json,
        Json) ?? throw new MvarException("empty analysis JSON");
    public void Save(string path) => AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(ToJson()));
}
