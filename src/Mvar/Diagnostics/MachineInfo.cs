namespace Mvar.Diagnostics;

/// <summary>What reports say about the machine they were measured on (Linux /proc): its CPU and its load.</summary>
public static class MachineInfo
{
    /// <summary>"CPU model name, N cores" from /proc/cpuinfo (the machine line of benchmark reports).</summary>
    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return $"{line?.Split(':', 2)[1].Trim() ?? "unknown CPU"}, {Environment.ProcessorCount} cores";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"{Environment.ProcessorCount} cores"; }
    }

    /// <summary>The 1, 5 and 15 minute load averages from /proc/loadavg; empty where it cannot be read.</summary>
    internal static double[] LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(s => double.Parse(s,
            System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return []; }
    }
}
