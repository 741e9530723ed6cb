using System.Text.RegularExpressions;

namespace Mvar.IO;

/// <summary>
/// Honest writes: every output goes to a temporary file in the target's folder, is flushed and fsynced, and then renamed
/// over the target, so a failure or a kill never leaves a half-written file. Only a regular file or a new path is
/// replaced: a directory, FIFO, device or socket at the target is an error; a symbolic link is written through (its
/// final target is replaced, the link stays). Any I/O error (no space, permission denied, ...) is one
/// <see cref="MvarException"/> naming the path, and the temporary file is removed.
/// </summary>
public static partial class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new MvarException("no output path given (an empty file name)");
        string target = CheckTarget(path);
        string dir = Path.GetDirectoryName(target)!;
        string tmp = Path.Combine(dir, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var s = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(s);
                s.Flush(flushToDisk: true);
            }
            if (FileKinds.Of(target) == FileKind.Regular && !OperatingSystem.IsWindows())
                try { File.SetUnixFileMode(tmp, File.GetUnixFileMode(target)); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            CheckTarget(path);   // nothing special appeared at the target meanwhile
            File.Move(tmp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MvarException($"cannot write {path}: {Reason(e)}", e);
        }
        finally
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// The file a write to <paramref name="path"/> replaces (symbolic links followed), after checking that it is a
    /// regular file or a new path in an existing folder.
    /// </summary>
    public static string CheckTarget(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new MvarException("no output path given (an empty file name)");
        string target = FileKinds.FollowLinks(path);
        var kind = FileKinds.Of(target);
        if (kind is not (FileKind.Regular or FileKind.Missing))
            throw new
                MvarException($"cannot write {path}: {(target == Path.GetFullPath(path) ? "it" : target)} is {FileKinds.Describe(kind)}, not a regular file");
        string dir = Path.GetDirectoryName(target) ?? throw new MvarException($"cannot write {path}: not a file path");
        if (FileKinds.OfTarget(dir) != FileKind.Directory)
            throw new MvarException($"cannot write {path}: the directory {dir} does not exist");
        return target;
    }

    /// <summary>The one-line reason of an I/O error, without .NET's path decoration.</summary>
    public static string Reason(Exception e)
    {
        string m = e.Message;
        int q = m.IndexOf(" : '", StringComparison.Ordinal);   // "No space left on device : '/x/y'"
        if (q > 0) m = m[..q];
        if (e is UnauthorizedAccessException && !m.Contains("denied", StringComparison.OrdinalIgnoreCase)) m = "permission denied";
        return m.TrimEnd('.');
    }

    /// <summary>
    /// Removes the temporary files that <see cref="Write"/> (and writers named "*.part") left in <paramref name="dir"/>
    /// when a process was killed mid-write: only files of this naming whose process is no longer running.
    /// Returns the names removed.
    /// </summary>
    public static List<string> CleanStaleTemporaries(string dir)
    {
        var removed = new List<string>();
        if (!Directory.Exists(dir)) return removed;
        foreach (var f in Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(f);
            var m = TempName().Match(name);
            if (!m.Success || FileKinds.Of(f) != FileKind.Regular) continue;
            if (int.TryParse(m.Groups[1].Value, out int pid) && (pid == Environment.ProcessId || ProcessAlive(pid))) continue;
            try { File.Delete(f); removed.Add(name); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    /// <summary>The name of a temporary sibling of <paramref name="path"/> that <see cref="CleanStaleTemporaries"/> recognises.</summary>
    public static string TemporaryFor(string path, string suffix = "part") =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.{suffix}");

    static bool ProcessAlive(int pid) => OperatingSystem.IsLinux() ? Directory.Exists($"/proc/{pid}") : true;

    [GeneratedRegex(@"^\..+\.(\d+)\.[0-9a-f]{32}\.(tmp|part)$")] private static partial Regex TempName();
}
