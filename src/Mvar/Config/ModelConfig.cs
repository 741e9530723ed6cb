using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mvar.Config;

/// <summary>
/// A whole model: the tokenizer and (optionally) the transformer. Read from JSON with snake_case keys, e.g.
/// <c>{"tokenizer": {"vocab_size": 4096, ...}, "transformer": {"arch": "mvar", "depth": 16, ...}}</c>.
/// Unknown keys and impossible values are <see cref="ConfigException"/>s.
/// </summary>
public sealed record ModelConfig
{
    [JsonRequired] public TokenizerConfig Tokenizer { get; init; } = new();
    public TransformerConfig? Transformer { get; init; }
    /// <summary>Training hyper-parameters (used by <c>mvar train</c>; defaults when absent).</summary>
    public TrainingConfig? Training { get; init; }

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        IgnoreReadOnlyProperties = true,
    };

    /// <summary>Checks every range and consistency rule; one <see cref="ConfigException"/> lists all failures.</summary>
    public void Validate()
    {
        var problems = ConfigChecks.Collect(ValidateSections);
        if (problems.Count > 0) throw new ConfigException(Summary(problems));
    }

    void ValidateSections()
    {
        Tokenizer.Validate();
        Transformer?.Validate(Tokenizer);
        Training?.Validate();
    }

    static string Summary(List<string> problems) =>
        problems.Count == 1 ? problems[0] : $"{problems.Count} problems: {string.Join("; ", problems.Take(30))}{(problems.Count > 30 ? "; ..." : "")}";

    /// <summary>
    /// A config from JSON: first the schema (<see cref="ConfigSchema"/>: keys, types, nulls, duplicates), then the ranges
    /// (<see cref="Validate"/>); one <see cref="ConfigException"/> lists every problem with its JSON path.
    /// </summary>
    public static ModelConfig Parse(string json, string source = "config")
    {
        var problems = ConfigSchema.Check(json);
        ModelConfig? config = null;
        if (problems.Count == 0)
        {
            try { config = JsonSerializer.Deserialize<ModelConfig>(json, Json); }
            catch (JsonException e) { problems.Add($"{(string.IsNullOrEmpty(e.Path) ? "$" : e.Path.TrimStart('$', '.'))}: malformed value"); }
            if (config == null && problems.Count == 0) problems.Add("the file holds no JSON object");
            if (config != null) problems.AddRange(ConfigChecks.Collect(config.ValidateSections));
        }
        if (problems.Count > 0) throw new ConfigException($"{source}: {Summary(problems)}");
        return config!;
    }

    public static ModelConfig Load(string path)
    {
        IO.FileKinds.RequireRegularFile(path, "config file", m => new ConfigException(m));
        return Parse(File.ReadAllText(path), path);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The same model with the transformer's arch replaced (sampling one checkpoint both ways).</summary>
    public ModelConfig WithArch(Architecture arch)
    {
        if (Transformer == null) throw new ConfigException("the configuration has no transformer section");
        var c = this with { Transformer = Transformer with { Arch = arch } };
        c.Validate();
        return c;
    }

    /// <summary>The same model with the architecture named <paramref name="arch"/> ("var" or "mvar").</summary>
    public ModelConfig WithArch(string arch) => WithArch(Architectures.Parse(arch));
}
