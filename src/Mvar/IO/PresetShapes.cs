using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>Which built-in presets a state dict fits (same keys, same shapes).</summary>
public static class PresetShapes
{
    // Filled in once the tokenizer and transformer modules exist (they give each preset's state-dict shapes).
    public static IReadOnlyList<string> Matching(IReadOnlyDictionary<string, Tensor> sd) => [];
}
