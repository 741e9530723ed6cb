using System.Globalization;
using System.Runtime.InteropServices;

namespace Mvar.Diagnostics;

/// <summary>
/// Resident memory of this process from /proc/self/status (Linux): current (VmRSS) and peak (VmHWM). The peak can be
/// reset (writing 5 to /proc/self/clear_refs) so that one phase of a run can be measured on its own. Native tensor
/// memory is included, which the .NET GC's counters do not see.
/// </summary>
public static partial class ProcessMemory
{
    public static bool Supported => File.Exists("/proc/self/status");

    public static double CurrentMb => Read("VmRSS:");
    public static double PeakMb => Read("VmHWM:");

    /// <summary>Sets the peak to the current resident size; false where the kernel does not allow it.</summary>
    public static bool ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>
    /// Returns freed native memory to the system (glibc malloc_trim), so that the resident size before a measured phase
    /// does not carry the free heap of an earlier phase (which the phase would reuse, hiding its own growth). Linux/glibc
    /// only, a no-op elsewhere.
    /// </summary>
    public static void Trim()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (!OperatingSystem.IsLinux()) return;
        try { _ = MallocTrim(0); }   // 1 when memory was released, 0 when there was none: nothing to act on
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    static double Read(string field)
    {
        if (!Supported) return double.NaN;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;   // kB -> MB
        return double.NaN;
    }
}
