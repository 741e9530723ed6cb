using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>Finding the state dict (a dict of string to tensor) inside an unpickled checkpoint.</summary>
public static class StateDicts
{
    public static Dictionary<string, Tensor> Select(object? root, string? keyPath, string source)
    {
        if (!string.IsNullOrEmpty(keyPath))
        {
            object? node = root;
            string walked = "";
            foreach (var part in keyPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var dict = AsDict(node);
                if (dict == null || !dict.TryGetValue(part, out node))
                {
                    string have = dict == null ? "it is not a dict" : "keys there: " + string.Join(", ", dict.Keys.Take(20));
                    throw new CheckpointException($"{source}: no key '{part}' at '{(walked == "" ? "/" : walked)}' ({have})");
                }
                walked = walked == "" ? part : walked + "/" + part;
            }
            return AsStateDict(node) ?? throw new CheckpointException($"{source}: '{keyPath}' is not a dict of tensors ({Describe(node)})");
        }
        if (AsStateDict(root) is { } top) return top;
        var found = new List<(string path, Dictionary<string, Tensor> sd)>();
        Find(root, "", found, new HashSet<object>(ReferenceEqualityComparer.Instance));
        return found.Count switch
        {
            1 => found[0].sd,
            0 => throw new CheckpointException($"{source}: no dict of tensors found in the checkpoint ({Describe(root)})"),
            _ => throw new CheckpointException(
                $"{source}: several dicts of tensors; choose one by its key path: {string.Join(", ", found.Select(f => f.path))}"),
        };
    }

    /// <summary>Every dict of tensors below <paramref name="node"/>; a dict shared by several paths is walked once (the first).</summary>
    static void Find(object? node, string path, List<(string, Dictionary<string, Tensor>)> found, HashSet<object> seen)
    {
        var dict = AsDict(node);
        if (dict == null || !seen.Add(dict)) return;
        foreach (var (k, v) in dict)
        {
            if (k is not string key) continue;      // e.g. an optimizer's per-parameter state keyed by index
            string p = path == "" ? key : path + "/" + key;
            if (AsStateDict(v) is { } sd) found.Add((p, sd));
            else Find(v, p, found, seen);
        }
    }

    static Dictionary<object, object?>? AsDict(object? o) => o switch
    {
        Dictionary<object, object?> d => d,
        PickleObject { State: Dictionary<object, object?> s } => s,
        _ => null,
    };

    /// <summary>
    /// The node as a state dict: a dict with string keys whose values are tensors, holding at least one. Inert
    /// placeholders of globals that were never imported (e.g. a smuggled <c>os.system</c> call) are left out, so the
    /// tensors around them still load.
    /// </summary>
    static Dictionary<string, Tensor>? AsStateDict(object? o)
    {
        if (o is not Dictionary<object, object?> d) return null;
        if (!d.All(kv => kv.Key is string && kv.Value is Tensor or PickleObject or PickleGlobal)) return null;
        var sd = d.Where(kv => kv.Value is Tensor).ToDictionary(kv => (string)kv.Key, kv => (Tensor)kv.Value!);
        return sd.Count > 0 ? sd : null;
    }

    static string Describe(object? o) => o switch
    {
        null => "None",
        Dictionary<object, object?> d => $"a dict with keys {string.Join(", ", d.Keys.Take(12))}{(d.Count > 12 ? ", ..." : "")}",
        Tensor t => $"a tensor of shape [{string.Join(", ", t.shape)}]",
        _ => $"a {o.GetType().Name}",
    };
}
