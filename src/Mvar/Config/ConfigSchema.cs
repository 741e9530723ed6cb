using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mvar.Config;

/// <summary>
/// The JSON schema of a model configuration, derived from the config records themselves: each section is a property
/// of <see cref="ModelConfig"/>, each key a settable property of the section's record (snake_case), its type the
/// property's type; get-only properties (image_size, head_dim, learning_rate, ...) are derived values and may not be
/// given. Every problem (an unknown or derived key, null where a value is needed, a wrong JSON type, a number outside
/// its type, a duplicated key) is collected with its JSON path, so one error lists them all.
/// </summary>
public static class ConfigSchema
{
    public static List<string> Check(string json)
    {
        var problems = new List<string>();
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions
            {
                AllowDuplicateProperties = false, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
            });
        }
        catch (JsonException e)
        {
            problems.Add($"not valid JSON: {e.Message.Split(" Path:")[0].Split(" LineNumber:")[0].TrimEnd('.')}{Where(e)}");
            return problems;
        }
        if (root is not JsonObject obj) { problems.Add("the file must hold one JSON object with a \"tokenizer\" section"); return problems; }
        CheckObject(obj, typeof(ModelConfig), "", problems);
        if (!obj.ContainsKey("tokenizer")) problems.Add("no \"tokenizer\" section");
        return problems;
    }

    static string Where(JsonException e) => e.LineNumber is long l ? $" (line {l + 1})" : "";

    /// <summary>The keys a section (record type) accepts, and its derived (get-only) keys.</summary>
    public static (Dictionary<string, PropertyInfo> keys, HashSet<string> derived) Keys(Type t)
    {
        var keys = new Dictionary<string, PropertyInfo>();
        var derived = new HashSet<string>();
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0 || p.Name == "EqualityContract") continue;
            string name = JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);
            if (p.SetMethod is { IsPublic: true }) keys[name] = p;
            else derived.Add(name);
        }
        return (keys, derived);
    }

    static void CheckObject(JsonObject obj, Type type, string path, List<string> problems)
    {
        var (keys, derived) = Keys(type);
        foreach (var (name, value) in obj)
        {
            string at = path == "" ? name : $"{path}.{name}";
            if (derived.Contains(name)) { problems.Add($"{at}: \"{name}\" is derived from other values and cannot be given"); continue; }
            if (!keys.TryGetValue(name, out var prop))
            {
                problems.Add($"{at}: unknown key \"{name}\" (the keys {(path == "" ? "at the top level" : "of " + path)} are {string.Join(", ", keys.Keys)})");
                continue;
            }
            CheckValue(value, prop.PropertyType, IsNullable(prop), at, problems);
        }
    }

    /// <summary>Whether null may be given: nullable values (lr, class_names) and optional sections (null: left out).</summary>
    static bool IsNullable(PropertyInfo p) =>
        Nullable.GetUnderlyingType(p.PropertyType) != null || new NullabilityInfoContext().Create(p).WriteState == NullabilityState.Nullable;

    static void CheckValue(JsonNode? value, Type type, bool nullable, string at, List<string> problems)
    {
        var inner = Nullable.GetUnderlyingType(type) ?? type;
        if (value is null)
        {
            if (!nullable) problems.Add(inner.IsArray ? $"{at}: must be a list, not null"
                : IsSection(inner) ? $"{at}: must be an object, not null" : $"{at}: must not be null");
            return;
        }
        if (inner.IsArray)
        {
            if (value is not JsonArray arr) { problems.Add($"{at}: must be a list, got {Show(value)}"); return; }
            if (arr.Count > 4096) { problems.Add($"{at}: has {arr.Count} entries"); return; }
            for (int i = 0; i < arr.Count; i++) CheckValue(arr[i], inner.GetElementType()!, false, $"{at}[{i}]", problems);
            return;
        }
        if (IsSection(inner))
        {
            if (value is JsonObject o) CheckObject(o, inner, at, problems);
            else problems.Add($"{at}: must be an object, got {Show(value)}");
            return;
        }
        var kind = value.GetValueKind();
        if (inner == typeof(bool))
        {
            if (kind is not (JsonValueKind.True or JsonValueKind.False))
                problems.Add($"{at}: must be true or false, got {Show(value)}");
        }
        else if (inner == typeof(string)) { if (kind != JsonValueKind.String) problems.Add($"{at}: must be a string, got {Show(value)}"); }
        else if (inner == typeof(Architecture))
        {
            if (kind != JsonValueKind.String || !Architectures.TryParse(value.GetValue<string>(), out _))
                problems.Add($"{at}: must be \"var\" or \"mvar\", got {Show(value)}");
        }
        else if (inner == typeof(int) || inner == typeof(long))
        {
            long min = inner == typeof(int) ? int.MinValue : long.MinValue, max = inner == typeof(int) ? int.MaxValue : long.MaxValue;
            if (kind != JsonValueKind.Number || !value.AsValue().TryGetValue(out double d) || d != Math.Floor(d))
                problems.Add($"{at}: must be an integer, got {Show(value)}");
            else if (d < min || d > max || !value.AsValue().TryGetValue(out long _))
                problems.Add($"{at}: {Show(value)} is outside the range of its type [{min}, {max}]");
        }
        else if (inner == typeof(double) || inner == typeof(float))
        {
            if (kind != JsonValueKind.Number || !value.AsValue().TryGetValue(out double d)) problems.Add($"{at}: must be a number, got {Show(value)}");
            else if (!double.IsFinite(d)) problems.Add($"{at}: must be a finite number, got {Show(value)}");
        }
    }

    static bool IsSection(Type t) => t.IsClass && t != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(t);

    static string Show(JsonNode? v)
    {
        string s = v?.ToJsonString() ?? "null";
        return s.Length <= 40 ? s : s[..40] + "...";
    }
}

/// <summary>
/// The range checks of the config records (<c>Require(ok, message)</c> in each Validate): inside
/// <see cref="Collect"/> every failed check is recorded, so that one error lists all problems; outside, the first one
/// throws, as before.
/// </summary>
public static class ConfigChecks
{
    [ThreadStatic] static List<string>? collector;

    public static void Require(bool ok, string message)
    {
        if (ok) return;
        if (collector != null) collector.Add(message);
        else throw new ConfigException(message);
    }

    /// <summary>Runs <paramref name="validate"/> and returns the messages of every failed check.</summary>
    public static List<string> Collect(Action validate)
    {
        var outer = collector;
        var list = new List<string>();
        collector = list;
        try { validate(); }
        catch (Exception e) when (e is ConfigException or NullReferenceException or IndexOutOfRangeException or OverflowException or DivideByZeroException)
        {   // a check that depends on an earlier failed one
            if (list.Count == 0) list.Add(e is ConfigException ? e.Message : "inconsistent values");
        }
        finally { collector = outer; }
        return list;
    }
}
