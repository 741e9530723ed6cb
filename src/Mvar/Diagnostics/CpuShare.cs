using System.Globalization;
namespace Mvar.Diagnostics;

/// <summary>
/// How much of the machine's CPU time other processes used over an interval (Linux /proc): the busy ticks of all CPUs
/// minus this process's own, over all ticks. A benchmark run during which others used a noticeable share is disturbed
/// (on 2 cores, libtorch's threads then wait for each other at every operator).
/// </summary>
public sealed class CpuShare
{
    readonly long busy0, total0, self0;

    CpuShare((long busy, long total) sys, long self) { (busy0, total0) = sys; self0 = self; }

    public static CpuShare Start() => new(System(), Self());

    /// <summary>Share in [0, 1] of all CPU time since <see cref="Start"/> used by other processes; NaN where /proc is missing.</summary>
    public double ForeignShare()
    {
        var (busy, total) = System();
        long self = Self();
        if (total <= total0 || busy < 0 || self < 0) return double.NaN;
        return Math.Clamp((double)(busy - busy0 - (self - self0)) / (total - total0), 0, 1);
    }

    /// <summary>Waits (up to <paramref name="maxSeconds"/>) until others use less than <paramref name="share"/> of the CPUs over 2 s; false if they never
    /// did.</summary>
    public static bool WaitForQuiet(double share, double maxSeconds, Action<string>? log = null)
    {
        var sw = global::System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var s = Start();
            Thread.Sleep(2000);
            double f = s.ForeignShare();
            if (double.IsNaN(f) || f < share) return true;
            if (sw.Elapsed.TotalSeconds > maxSeconds) return false;
            log?.Invoke($"waiting for a quiet machine: other processes use {f:P0} of the CPUs");
        }
    }

    static (long busy, long total) System()
    {
        try
        {
            var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
            long busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f.Length > 7 ? f[7] : 0);
            return (busy, busy + f[3] + f[4]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or IndexOutOfRangeException)
        {
            return (-1, -1);
        }
    }

    static long Self()
    {
        try
        {
            string s = File.ReadAllText("/proc/self/stat");
            var f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);   // utime, stime (fields 14 and 15)
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }
}
