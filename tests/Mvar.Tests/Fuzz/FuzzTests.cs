using Mvar.Diagnostics;
using Xunit.Abstractions;

namespace Mvar.Tests.Fuzz;

/// <summary>
/// The seeded fuzz suite: a few hundred generated hostile inputs per format, each of which must give a result or one
/// clean <see cref="MvarException"/> within a few seconds, the whole run within a memory bound, and leave no file.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    public const int Seed = 18, Cases = 300;
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData("pickle")]
    [InlineData("zip")]
    [InlineData("safetensors")]
    [InlineData("npy")]
    [InlineData("image")]
    [InlineData("config")]
    public void EveryCaseIsAResultOrACleanError(string format)
    {
        string dir = Fixtures.TempDir();
        ProcessMemory.Trim();
        double before = ProcessMemory.CurrentMb;
        ProcessMemory.ResetPeak();
        var outcomes = FuzzCases.Generate(format, Seed, Cases).Select(c => FuzzRunner.Run(c, dir, Bound)).ToList();
        double peakAbove = ProcessMemory.PeakMb - before;
        var failed = outcomes.Where(o => !o.Held).ToList();
        int errors = outcomes.Count(o => o.Held && o.Result.StartsWith("error", StringComparison.Ordinal));
        output.WriteLine($"{format}: {outcomes.Count} cases, {outcomes.Count - failed.Count} held ({errors} clean errors, "
            + $"{outcomes.Count - failed.Count - errors} read), " +
                         $"slowest {outcomes.Max(o => o.Elapsed.TotalMilliseconds):F0} ms, peak {peakAbove:F0} MB above the start");
        foreach (var f in failed.Take(20)) output.WriteLine($"  case {f.Case.Index} ({f.Case.What}): {f.Result}");
        Assert.True(failed.Count == 0, $"{failed.Count} of {outcomes.Count} {format} cases did not hold; first: " +
            string.Join(" | ", failed.Take(5).Select(f => $"#{f.Case.Index} {f.Case.What}: {f.Result}")));
        Assert.Empty(Directory.GetFiles(dir));          // no file left, temporaries included
        if (ProcessMemory.Supported) Assert.True(peakAbove < 2500, $"peak {peakAbove:F0} MB above the start");
        foreach (var o in outcomes.Where(o => o.Result.StartsWith("error", StringComparison.Ordinal)))
            Assert.DoesNotContain('\n', o.Result);      // one line each
    }
}
