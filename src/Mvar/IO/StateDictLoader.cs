using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.IO;

public static class StateDictLoader
{
    /// <summary>
    /// Copies <paramref name="stateDict"/> into the module's parameters and buffers (names as in
    /// <c>module.state_dict()</c>). All missing, unexpected and shape-mismatched keys are reported at once in one
    /// <see cref="CheckpointException"/> naming <paramref name="source"/>. Keys for which <paramref name="ignore"/>
    /// returns true are skipped on both sides.
    /// </summary>
    public static void LoadInto(nn.Module module, IReadOnlyDictionary<string, Tensor> stateDict, string source,
        Func<string, bool>? ignore = null)
    {
        ignore ??= _ => false;
        var target = module.state_dict();
        var missing = target.Keys.Where(k => !ignore(k) && !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !ignore(k) && !target.ContainsKey(k)).ToList();
        var mismatched = target.Where(kv => !ignore(kv.Key) && stateDict.TryGetValue(kv.Key, out var s) && !s.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} (checkpoint [{string.Join(", ", stateDict[kv.Key].shape)}], model [{string.Join(", ", kv.Value.shape)}])")
            .ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            var parts = new List<string>();
            if (mismatched.Count > 0) parts.Add($"{mismatched.Count} shape mismatch(es): {List(mismatched)}");
            if (missing.Count > 0) parts.Add($"{missing.Count} missing key(s): {List(missing)}");
            if (unexpected.Count > 0) parts.Add($"{unexpected.Count} unexpected key(s): {List(unexpected)}");
            throw new CheckpointException($"{source} does not fit the model: {string.Join("; ", parts)}");
        }
        using var _ = torch.no_grad();
        foreach (var (name, t) in target)
            if (!ignore(name)) t.copy_(stateDict[name]);
    }

    static string List(List<string> items) =>
        string.Join(", ", items.Take(12)) + (items.Count > 12 ? $", ... ({items.Count - 12} more)" : "");
}
