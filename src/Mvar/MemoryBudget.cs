using System.Globalization;

namespace Mvar;

/// <summary>
/// What the machine can give a request now, so that a file or a command asking for more fails at once with the
/// numbers instead of at the allocator: MemAvailable of /proc/meminfo (Linux), else the memory the runtime sees.
/// </summary>
public static class MemoryBudget
{
    /// <summary>Bytes that can be allocated without swapping or the OOM killer (roughly).</summary>
    public static long AvailableBytes()
    {
        try
        {
            if (OperatingSystem.IsLinux())
                foreach (var line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                        && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kb))
                        return kb * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>Throws a <see cref="MvarException"/> when <paramref name="bytes"/> exceed what is available.</summary>
    public static void Require(double bytes, string what)
    {
        long available = AvailableBytes();
        if (bytes > available)
            throw new MvarException($"{what} needs about {Gb(bytes)} of memory, but this machine has {Gb(available)} available");
    }

    public static string Gb(double bytes) => bytes >= 1e9 ? $"{bytes / 1e9:F1} GB" : $"{bytes / 1e6:F0} MB";
}
