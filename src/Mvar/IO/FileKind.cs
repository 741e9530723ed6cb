using System.Runtime.InteropServices;

namespace Mvar.IO;

/// <summary>What a path names, without following a final symbolic link (lstat): the check behind every read and write.</summary>
public enum FileKind { Missing, Regular, Directory, Symlink, Fifo, CharDevice, BlockDevice, Socket, Other }

public static partial class FileKinds
{
    /// <summary>The kind of <paramref name="path"/>; a final symbolic link is reported as <see cref="FileKind.Symlink"/>.</summary>
    public static FileKind Of(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            var buf = new byte[256];    // struct statx: the same layout on every Linux architecture; stx_mode at 28
            int rc = statx(-100 /* AT_FDCWD */, path, 0x100 /* AT_SYMLINK_NOFOLLOW */, 1 /* STATX_TYPE */, buf);
            if (rc != 0) return Marshal.GetLastPInvokeError() is 2 or 20 ? FileKind.Missing : FallbackOf(path); // ENOENT, ENOTDIR
            int mode = BitConverter.ToUInt16(buf, 28) & 0xF000;
            return mode switch
            {
                0x8000 => FileKind.Regular,
                0x4000 => FileKind.Directory,
                0xA000 => FileKind.Symlink,
                0x1000 => FileKind.Fifo,
                0x2000 => FileKind.CharDevice,
                0x6000 => FileKind.BlockDevice,
                0xC000 => FileKind.Socket,
                _ => FileKind.Other,
            };
        }
        return FallbackOf(path);
    }

    static FileKind FallbackOf(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget != null) return FileKind.Symlink;
        if (Directory.Exists(path)) return FileKind.Directory;
        return info.Exists ? FileKind.Regular : FileKind.Missing;
    }

    /// <summary>The kind of what <paramref name="path"/> finally names, symbolic links followed.</summary>
    public static FileKind OfTarget(string path) => Of(FollowLinks(path));

    /// <summary>
    /// The path a chain of symbolic links ends at (the path itself when it is no link). A dangling link gives the path it
    /// points to; a loop (more than 40 links) is an error.
    /// </summary>
    public static string FollowLinks(string path)
    {
        string p = Path.GetFullPath(path);
        for (int hops = 0; Of(p) == FileKind.Symlink; hops++)
        {
            if (hops >= 40) throw new MvarException($"{path}: too many levels of symbolic links");
            string target = new FileInfo(p).LinkTarget!;
            p = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(p)!, target));
        }
        return p;
    }

    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "a directory",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.Symlink => "a symbolic link",
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        _ => "not a regular file",
    };

    /// <summary>
    /// Checks that <paramref name="path"/> (links followed) is an existing regular file before it is read, so that a FIFO
    /// or a device never blocks or streams forever: a <see cref="MvarException"/> (or the exception <paramref name="error"/>
    /// makes) naming <paramref name="what"/> otherwise.
    /// </summary>
    public static void RequireRegularFile(string path, string what, Func<string, MvarException>? error = null)
    {
        error ??= m => new MvarException(m);
        var kind = string.IsNullOrEmpty(path) ? FileKind.Missing : OfTarget(path);
        if (kind == FileKind.Missing) throw error($"{what} not found: {(path == "" ? "(empty path)" : path)}");
        if (kind != FileKind.Regular) throw error($"{path}: {Describe(kind)}, not a regular file: cannot be read as {Article(what)}");
    }

    static string Article(string what) => "aeiou".Contains(char.ToLowerInvariant(what[0])) ? "an " + what : "a " + what;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buf);
}
