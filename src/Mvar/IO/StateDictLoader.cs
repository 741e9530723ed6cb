// placeholder: implemented in the next commit
using TorchSharp;
namespace Mvar.IO;

public static class StateDictLoader
{
    /// <summary>
    /// Copies <paramref name="stateDict"/> into the module's parameters and buffers (names as in
    /// <c>module.state_dict()</c>). All missing, unexpected and shape-mismatched keys are reported at once in one
    /// <see cref="CheckpointException"/> naming <paramref name="source"/>. Keys for which <paramref name="ignore"/>
    /// returns true are skipped on both sides.
    /// </summary>
    public static void LoadInto(torch.nn.Module module, IReadOnlyDictionary<string, torch.Tensor> stateDict, string source,
        Func<string, bool>? ignore = null) => throw new NotImplementedException();
}
