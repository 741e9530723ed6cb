// placeholder: implemented in the next commit
using TorchSharp;
namespace Mvar.IO;

/// <summary>Reads PyTorch <c>torch.save</c> zip checkpoints with a safe unpickler (no code in a file ever runs).</summary>
public static class TorchCheckpoint
{
    /// <summary>
    /// The flat state dict (name to tensor) of a checkpoint. <paramref name="keyPath"/> ("mvar_wo_ddp",
    /// "trainer/mvar_wo_ddp") selects a nested dict; without it the top level, or the only nested dict of tensors.
    /// </summary>
    public static Dictionary<string, torch.Tensor> LoadStateDict(string path, string? keyPath = null) => throw new NotImplementedException();
}
