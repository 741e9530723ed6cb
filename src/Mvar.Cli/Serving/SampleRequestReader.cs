using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Mvar.Sampling;
using Mvar.Serving;

namespace Mvar.Cli.Serving;

/// <summary>
/// Turns a request body (JSON) or a query string into a validated <see cref="GenerationRequest"/>. Fields:
/// <c>class</c> (an id or a name) or <c>classes</c> (a list), <c>count</c> (samples per class, or random-class samples
/// without a class), <c>cfg</c>, <c>top_k</c>, <c>top_p</c>, <c>seed</c>, <c>arch</c>. Every problem is a
/// <see cref="MvarException"/> naming the field (HTTP 400).
/// </summary>
public sealed class SampleRequestReader(ServedModels models, int maxSamples)
{
    static readonly string[] Fields = ["class", "classes", "count", "cfg", "top_k", "top_p", "seed", "arch"];

    public GenerationRequest FromJson(string body)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new MvarException($"malformed JSON: {e.Message}"); }
        if (root is not JsonObject obj) throw new MvarException("the body must be a JSON object, e.g. {\"class\": 3, \"count\": 4}");
        try { return FromObject(obj); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or JsonException)
        {   // e.g. a string with a lone surrogate (invalid UTF-16), which System.Text.Json refuses to decode
            throw new MvarException($"malformed JSON: {e.Message}");
        }
    }

    /// <summary>The same fields as the JSON body; <c>class</c> may repeat or be comma-separated.</summary>
    public GenerationRequest FromQuery(IQueryCollection query)
    {
        var obj = new JsonObject();
        foreach (var (key, values) in query)
        {
            var parts = values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries)).ToArray();
            if (key is "class" or "classes")
                obj[key == "class" && parts.Length == 1 ? "class" : "classes"] = new JsonArray(parts.Select(QueryValue).ToArray());
            else if (parts.Length != 1) throw new MvarException($"\"{key}\" is given more than once");
            else obj[key] = QueryValue(parts[0]);
        }
        if (obj["class"] is JsonArray single) obj["class"] = single[0]?.DeepClone();
        return FromObject(obj);
    }

    /// <summary>A query value as the JSON body would hold it: a number when it reads as a JSON number, else a string.</summary>
    static JsonNode? QueryValue(string s)
    {
        try { if (JsonNode.Parse(s) is JsonValue v && v.GetValueKind() == JsonValueKind.Number) return v; }
        catch (JsonException) { }
        return JsonValue.Create(s);
    }

    GenerationRequest FromObject(JsonObject obj)
    {
        foreach (var (key, _) in obj)
            if (!Fields.Contains(key)) throw new MvarException($"unknown field \"{key}\"; the fields are {string.Join(", ", Fields)}");
        if (obj.ContainsKey("class") && obj.ContainsKey("classes")) throw new MvarException("give \"class\" or \"classes\", not both");

        string arch = obj["arch"] is { } a ? String(a, "arch") : models.DefaultArch;
        if (!models.Samplers.ContainsKey(arch))
            throw new MvarException($"arch \"{arch}\" is not loaded; this server has {string.Join(", ", models.Samplers.Keys)}");
        long[]? classes = obj["class"] is { } c ? [ClassId(c)]
            : obj["classes"] is { } cs ? (cs as JsonArray
                ?? throw new MvarException("\"classes\" must be a list of class ids or names")).Select(ClassId).ToArray()
            : null;
        if (classes is { Length: 0 }) throw new MvarException("\"classes\" is empty");
        int count = obj["count"] is { } n ? Int(n, "count", 1, maxSamples) : classes == null ? 4 : 1;
        if (classes != null)
        {
            if ((long)classes.Length * count > maxSamples)
                throw new MvarException($"{classes.Length} classes x count {count} is more than the {maxSamples} samples a request may ask for");
            classes = classes.SelectMany(id => Enumerable.Repeat(id, count)).ToArray();
        }
        var defaults = SamplingOptions.Default(models.VocabSize);   // the library's defaults and checks, as the CLI's
        double cfg = obj["cfg"] is { } g ? Checked(Number(g, "cfg"), v => SamplingOptions.CheckCfg(v, "\"cfg\"")) : defaults.Cfg;
        int topK = obj["top_k"] is { } k
            ? (int)Checked((long)Math.Clamp(Whole(k, "top_k"), long.MinValue, long.MaxValue), v => SamplingOptions.CheckTopK(v, models.VocabSize, "\"top_k\""))
            : defaults.TopK;
        double topP = obj["top_p"] is { } p ? Checked(Number(p, "top_p"), v => SamplingOptions.CheckTopP(v, "\"top_p\"")) : defaults.TopP;
        ulong seed = obj["seed"] is { } s ? Seed(s) : (ulong)Random.Shared.NextInt64(0, long.MaxValue);
        return new GenerationRequest(arch, classes, count, cfg, topK, topP, seed);
    }

    long ClassId(JsonNode? node)
    {
        if (node is JsonValue v && v.TryGetValue(out string? name))
        {
            int i = Array.FindIndex(models.ClassNames, c => string.Equals(c, name.Trim(), StringComparison.OrdinalIgnoreCase));
            if (i < 0) throw new
                MvarException($"unknown class \"{name}\"; the classes are {string.Join(", ", models.ClassNames.Select((c, j) => $"{j} {c}"))}");
            return i;
        }
        long id = (long)Number(node, "class", long.MinValue, long.MaxValue);
        if (id != Number(node, "class", long.MinValue, long.MaxValue) || id < 0 || id >= models.NumClasses)
            throw new MvarException($"unknown class {node?.ToJsonString()}: the model has classes 0..{models.NumClasses - 1}");
        return id;
    }

    static double Number(JsonNode? node, string field, double min, double max)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue(out double d))
            throw new MvarException($"\"{field}\" must be a number, got {node?.ToJsonString() ?? "null"}");
        if (!(d >= min && d <= max)) throw new MvarException($"\"{field}\" must be within [{min}, {max}], got {d}");
        return d;
    }

    static int Int(JsonNode? node, string field, int min, int max)
    {
        double d = Whole(node, field);
        if (d < min || d > max) throw new MvarException($"\"{field}\" must be within [{min}, {max}], got {d}");
        return (int)d;
    }

    static double Whole(JsonNode? node, string field)
    {
        double d = Number(node, field);
        return d == Math.Floor(d) ? d : throw new MvarException($"\"{field}\" must be an integer, got {d}");
    }

    static double Number(JsonNode? node, string field) => Number(node, field, double.MinValue, double.MaxValue);

    /// <summary><paramref name="value"/> when the library's <paramref name="check"/> finds no problem, else that problem (it names the field).</summary>
    static T Checked<T>(T value, Func<T, string?> check) => check(value) is { } problem ? throw new MvarException(problem) : value;

    static ulong Seed(JsonNode node)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out ulong s)) return s;
        throw new MvarException($"\"seed\" must be an integer within [0, {ulong.MaxValue}], got {node.ToJsonString()}");
    }

    static string String(JsonNode node, string field) =>
        node is JsonValue v && v.TryGetValue(out string? s) ? s : throw new MvarException($"\"{field}\" must be a string, got {node.ToJsonString()}");
}
