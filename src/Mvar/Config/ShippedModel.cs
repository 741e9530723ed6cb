namespace Mvar.Config;

/// <summary>
/// A model trained by Mvar and committed under <c>models/NAME/</c>: <c>config.json</c> (tokenizer, transformer with
/// class names, training), <c>tokenizer.safetensors</c>, and one transformer per architecture
/// (<c>mvar.safetensors</c>, <c>var.safetensors</c>). Found in the program's folder or any folder above it, so both a
/// checkout (<c>./mvar</c>) and an installed tool (which carries a copy) see it.
/// </summary>
public sealed record ShippedModel(string Name, string Folder)
{
    /// <summary>The models Mvar ships, by preset name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fashion-mnist"];

    public string ConfigPath => Path.Combine(Folder, "config.json");
    public string TokenizerPath => Path.Combine(Folder, "tokenizer.safetensors");
    public string TransformerPath(Architecture arch) => Path.Combine(Folder, $"{arch.Name()}.safetensors");

    public ModelConfig LoadConfig() => ModelConfig.Load(ConfigPath);

    public static bool IsShipped(string name) => Names.Contains(name);

    /// <summary>The shipped model a --preset names, or null when it names none (a built-in configuration, or no preset).</summary>
    public static ShippedModel? Of(string? preset) => preset != null && IsShipped(preset) ? Find(preset) : null;

    /// <summary>The shipped model <paramref name="name"/>; a clear error when its files are not found.</summary>
    public static ShippedModel Find(string name)
    {
        if (!IsShipped(name)) throw new ConfigException($"unknown shipped model \"{name}\"; shipped: {string.Join(", ", Names)}");
        string rel = Path.Combine("models", name, "config.json");
        string? config = FindFile(rel)
            ?? throw new ConfigException($"the shipped model {name} was not found: no {rel} in {AppContext.BaseDirectory} or above it");
        return new ShippedModel(name, Path.GetDirectoryName(config)!);
    }

    /// <summary><paramref name="relativePath"/> (e.g. models/fashion-mnist/classifier.safetensors) in the program's folder or the nearest folder above
    /// it.</summary>
    public static string? FindFile(string relativePath)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relativePath);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
