using System.Diagnostics;

namespace Mvar.Tests.Fuzz;

/// <summary>The outcome of one fuzz case: held (a result or a clean error) or not, and how long it took.</summary>
public sealed record FuzzOutcome(FuzzCase Case, bool Held, string Result, TimeSpan Elapsed);

/// <summary>
/// Runs fuzz cases: each written to a file of its own in a scratch folder, fed to its reader on a worker thread with a
/// time bound; a case holds when the reader returns or throws an <see cref="MvarException"/> in time. Shared by the
/// test suite and bench/fuzz-before.sh (which runs the same cases against older code).
/// </summary>
public static class FuzzRunner
{
    public static FuzzOutcome Run(FuzzCase c, string dir, TimeSpan bound)
    {
        string path = Path.Combine(dir, $"case-{c.Format}-{c.Index}{c.Extension}");
        File.WriteAllBytes(path, c.Bytes);
        Exception? error = null;
        var sw = Stopwatch.StartNew();
        var worker = new Thread(() =>
        {
            try { FuzzCases.Load(c, path); }
            catch (Exception e) { error = e; }
        }, 16 << 20)
        { IsBackground = true };
        worker.Start();
        bool done = worker.Join(bound);
        sw.Stop();
        try { File.Delete(path); } catch (IOException) { }
        if (!done) return new FuzzOutcome(c, false, $"no answer within {bound.TotalSeconds:F0} s", sw.Elapsed);
        return error switch
        {
            null => new FuzzOutcome(c, true, "read", sw.Elapsed),
            MvarException m => new FuzzOutcome(c, true, "error: " + m.Message, sw.Elapsed),
            _ => new FuzzOutcome(c, false, $"{error.GetType().Name}: {error.Message.ReplaceLineEndings(" ")}", sw.Elapsed),
        };
    }
}
