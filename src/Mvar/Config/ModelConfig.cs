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

    public void Validate()
    {
        Tokenizer.Validate();
        Transformer?.Validate(Tokenizer);
        Training?.Validate();
    }

    public static ModelConfig Parse(string json, string source = "config")
    {
        ModelConfig? config;
        try { config = JsonSerializer.Deserialize<ModelConfig>(json, Json); }
        catch (JsonException e)
        {
            string where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
            string why = e.Message.Contains("missing required properties") ? "no \"tokenizer\" section" : "malformed value";
            if (e.Message.Contains("could not be mapped"))
            {   // STJ: "The JSON property 'foo' could not be mapped to any .NET member contained in type ..."
                int a = e.Message.IndexOf('\''), b = a >= 0 ? e.Message.IndexOf('\'', a + 1) : -1;
                if (b > a) why = $"unknown key \"{e.Message[(a + 1)..b]}\"";
            }
            throw new ConfigException($"{source}: {why}{where}");
        }
        if (config == null) throw new ConfigException($"{source}: the file holds no JSON object");
        try { config.Validate(); }
        catch (ConfigException e) { throw new ConfigException($"{source}: {e.Message}"); }
        return config;
    }

    public static ModelConfig Load(string path)
    {
        IO.FileKinds.RequireRegularFile(path, "config file", m => new ConfigException(m));
        return Parse(File.ReadAllText(path), path);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The same model with the transformer's arch replaced (sampling one checkpoint both ways).</summary>
    public ModelConfig WithArch(string arch)
    {
        if (Transformer == null) throw new ConfigException("the configuration has no transformer section");
        var c = this with { Transformer = Transformer with { Arch = arch } };
        c.Validate();
        return c;
    }
}
