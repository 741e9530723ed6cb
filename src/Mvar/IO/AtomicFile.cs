namespace Mvar.IO;

/// <summary>Writes files through a temporary file in the same folder and a rename, so a failure never leaves a partial file.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new MvarException($"cannot write {path}: folder {dir} does not exist");
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = File.Create(tmp)) write(stream);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is not MvarException)
        {
            try { File.Delete(tmp); } catch { /* best effort */ }
            throw new MvarException($"cannot write {path}: {e.Message}", e);
        }
        catch { try { File.Delete(tmp); } catch { } throw; }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false)); w.Write(text); });

    /// <summary>Fails early (before long work) when the file could not be written: its folder is missing.</summary>
    public static void CheckWritable(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) throw new MvarException($"cannot write {path}: folder {dir} does not exist");
        if (Directory.Exists(path)) throw new MvarException($"cannot write {path}: it is a folder");
    }
}
