using System.IO.Compression;

namespace Mvar.IO;

/// <summary>Reading zip entries (torch.save checkpoints, .npz) without trusting their declared sizes.</summary>
public static class ZipBounds
{
    /// <summary>Deflate's largest expansion: no real entry decompresses to more than this many times its size.</summary>
    public const long MaxRatio = 1032;

    /// <summary>
    /// An entry's declared sizes are possible: its compressed bytes fit in the file and its size is at most what deflate
    /// can expand them to, so a lying header or a zip bomb cannot make a reader allocate gigabytes.
    /// </summary>
    public static void CheckSize(ZipArchiveEntry e, string path, long fileLength, Func<string, MvarException> error)
    {
        if (e.CompressedLength < 0 || e.CompressedLength > fileLength)
            throw error($"{path}: {e.FullName}: compressed size {e.CompressedLength} exceeds the file's {fileLength} bytes");
        if (e.Length < 0 || e.Length > e.CompressedLength * MaxRatio + 1024)
            throw error($"{path}: {e.FullName}: declared size {e.Length} is impossible for {e.CompressedLength} compressed bytes (a zip bomb or a corrupt "
                + $"header)");
    }

    /// <summary>Fills <paramref name="buf"/> from the stream; an error naming the entry when it ends early.</summary>
    public static void ReadExactly(Stream s, Span<byte> buf, string what, Func<string, MvarException> error)
    {
        int n = 0;
        while (n < buf.Length)
        {
            int r = s.Read(buf[n..]);
            if (r == 0) throw error($"{what} is truncated ({n} of {buf.Length} bytes)");
            n += r;
        }
    }
}
