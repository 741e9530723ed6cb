using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mvar.IO;

namespace Mvar.Tokens;

/// <summary>
/// The one token file of Mvar, written by tokenizing, sampling and editing:
/// <c>{"version": 2, "patch_nums": [1, 2, ...], "samples": [{"file": "a.png", "class": 3, "scales": [[...], ...]}]}</c>,
/// each scale's indices row-major (pn*pn of them). An entry's label is optional: "file" for an encoded image, "class"
/// for a generated sample (absent or null when unknown). <see cref="Load"/> also reads the two layouts written before
/// version 2 (<c>"images": [{"file", "scales"}]</c> and <c>"samples": [{"class", "scales"}]</c>), so old files keep
/// working. An entry may hold fewer scales than patch_nums (the first ones), never more.
/// </summary>
public sealed record TokenFile(IReadOnlyList<int> PatchNums, IReadOnlyList<TokenFile.Entry> Samples)
{
    public const int Version = 2;

    /// <summary>One sample's tokens, one row-major array per scale, and its labels when known.</summary>
    public sealed record Entry(long[][] Scales, string? File = null, long? Class = null);

    /// <summary>The samples of a batch of token maps, labelled with their classes and/or the files they encode.</summary>
    public static TokenFile From(TokenMaps tokens, IReadOnlyList<long?>? classes = null, IReadOnlyList<string>? files = null) =>
        new(tokens.Layout.PatchNums, Enumerable.Range(0, (int)tokens.Batch)
            .Select(b => new Entry(tokens.Sample(b), files?[b], classes?[b])).ToList());

    public string ToJson()
    {
        // one line per scale keeps the file readable and small
        var sb = new StringBuilder();
        sb.Append("{\n  \"version\": ").Append(Version).Append(",\n  \"patch_nums\": [").Append(string.Join(", ", PatchNums));
        sb.Append("],\n  \"samples\": [");
        for (int i = 0; i < Samples.Count; i++)
        {
            var e = Samples[i];
            sb.Append(i == 0 ? "\n" : ",\n").Append("    {");
            if (e.File != null) sb.Append("\"file\": ").Append(JsonSerializer.Serialize(e.File)).Append(", ");
            if (e.Class is { } c) sb.Append("\"class\": ").Append(c).Append(", ");
            sb.Append("\"scales\": [");
            for (int s = 0; s < e.Scales.Length; s++)
                sb.Append(s == 0 ? "\n" : ",\n").Append("      [").Append(string.Join(", ", e.Scales[s])).Append(']');
            sb.Append("\n    ]}");
        }
        sb.Append(Samples.Count > 0 ? "\n  ]\n}\n" : "]\n}\n");
        return sb.ToString();
    }

    /// <summary>Writes the file atomically (temp file in the same folder + rename).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads a token file of any layout; a malformed one is one <see cref="MvarException"/> naming the file and the fault.</summary>
    public static TokenFile Load(string path)
    {
        FileKinds.RequireRegularFile(path, "token file");
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new MvarException($"malformed token file {path}: {e.Message}", e);
        }
    }

    static TokenFile Parse(string json)
    {
        if (JsonNode.Parse(json) is not JsonObject root) throw new FormatException("not a JSON object");
        if (root["version"] is { } v && Int(v, "version") != Version)
            throw new FormatException($"version {v.ToJsonString()} is not supported (this reader knows version {Version} and the older layouts)");
        var pns = ArrayOf(root["patch_nums"], "patch_nums").Select(n => Int(n, "patch_nums")).ToArray();
        if (pns.Length == 0 || pns.Any(p => p < 1)) throw new FormatException("patch_nums must be a non-empty list of positive sides");
        var list = root["samples"] ?? root["images"] ?? throw new FormatException("\"samples\" is missing");
        string listName = root["samples"] != null ? "samples" : "images";
        var entries = ArrayOf(list, listName).Select((n, i) => ParseEntry(n, $"{listName}[{i}]", pns)).ToList();
        return new TokenFile(pns, entries);
    }

    static Entry ParseEntry(JsonNode? node, string where, int[] pns)
    {
        if (node is not JsonObject o) throw new FormatException($"{where} is not an object");
        string? file = o["file"] switch
        {
            null => null,
            JsonValue s when s.TryGetValue(out string? text) => text,
            _ => throw new FormatException($"{where}: \"file\" is not a string"),
        };
        long? cls = o["class"] is { } c ? Long(c, $"{where}: \"class\"") : null;
        string label = file != null ? $"{where} ({file})" : where;
        var scales = ArrayOf(o["scales"], $"{label}: \"scales\"")
            .Select((s, si) => ArrayOf(s, $"{label}: scale {si}").Select(t => Long(t, $"{label}: scale {si}")).ToArray()).ToArray();
        if (scales.Length > pns.Length) throw new FormatException($"{label}: {scales.Length} scales but patch_nums has {pns.Length}");
        for (int si = 0; si < scales.Length; si++)
        {
            if (scales[si].Length != pns[si] * pns[si])
                throw new FormatException($"{label}: scale {si} has {scales[si].Length} tokens, expected {pns[si] * pns[si]} ({pns[si]}x{pns[si]})");
            if (scales[si].Any(t => t < 0)) throw new FormatException($"{label}: scale {si} has a negative token");
        }
        return new Entry(scales, file, cls);
    }

    static JsonArray ArrayOf(JsonNode? node, string what) =>
        node as JsonArray ?? throw new FormatException(node == null ? $"{what} is missing" : $"{what} is not a list");

    static long Long(JsonNode? node, string what) =>
        node is JsonValue v && v.TryGetValue(out long x) ? x : throw new FormatException($"{what}: {node?.ToJsonString() ?? "null"} is not an integer");

    static int Int(JsonNode? node, string what)
    {
        long x = Long(node, what);
        return x is >= int.MinValue and <= int.MaxValue ? (int)x : throw new FormatException($"{what}: {x} is out of range");
    }
}
