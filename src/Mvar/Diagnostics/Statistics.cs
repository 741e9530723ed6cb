namespace Mvar.Diagnostics;

/// <summary>Small statistics of measured values (run times, CPU seconds).</summary>
internal static class Statistics
{
    /// <summary>The middle value of <paramref name="xs"/> (the mean of the two middle ones for an even count).</summary>
    internal static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
