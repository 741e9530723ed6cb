using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>Reads and writes state dicts in either format, chosen by the file's content (reading) or extension (writing).</summary>
public static class Checkpoint
{
    public static bool IsSafeTensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    public static Dictionary<string, Tensor> LoadStateDict(string path, string? keyPath = null)
    {
        FileKinds.RequireRegularFile(path, "checkpoint", m => new CheckpointException(m));
        if (!LooksLikeZip(path))
        {
            if (!string.IsNullOrEmpty(keyPath)) throw new CheckpointException($"{path}: a key path applies to .pth checkpoints only");
            return SafeTensors.Load(path);
        }
        return TorchCheckpoint.LoadStateDict(path, keyPath);
    }

    public static void SaveStateDict(string path, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        if (IsSafeTensors(path)) SafeTensors.Save(path, stateDict);
        else TorchSave.Save(path, stateDict.ToDictionary(kv => kv.Key, kv => (object?)kv.Value));
    }

    static bool LooksLikeZip(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return f.Read(magic) == 4 && magic[0] == (byte)'P' && magic[1] == (byte)'K';
    }
}
