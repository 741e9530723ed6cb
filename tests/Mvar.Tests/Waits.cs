using System.Diagnostics;

namespace Mvar.Tests;

/// <summary>
/// Bounded waits: a test that waits for something that never happens fails, naming what it waited for, instead of
/// hanging the suite.
/// </summary>
public static class Waits
{
    /// <summary>Long enough for the slowest wait of the suite on a loaded 2-core machine.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromMinutes(2);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > limit) Assert.Fail($"timed out after {limit.TotalSeconds:F0} s waiting for {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>The task's result; fails the test when it has not completed within <paramref name="timeout"/>.</summary>
    public static async Task<T> Within<T>(this Task<T> task, string what, TimeSpan? timeout = null)
    {
        await ((Task)task).Within(what, timeout);
        return await task;
    }

    /// <summary>Awaits the task; fails the test when it has not completed within <paramref name="timeout"/>.</summary>
    public static async Task Within(this Task task, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        if (await Task.WhenAny(task, Task.Delay(limit)) != task) Assert.Fail($"timed out after {limit.TotalSeconds:F0} s waiting for {what}");
        await task;
    }

    /// <summary>Waits for the semaphore; fails the test after <paramref name="timeout"/>.</summary>
    public static void Enter(this SemaphoreSlim entered, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        Assert.True(entered.Wait(limit), $"timed out after {limit.TotalSeconds:F0} s waiting for {what}");
    }

    /// <summary>Waits for the process to exit; fails the test (after killing it) when it runs longer than <paramref name="timeout"/>.</summary>
    public static void Exit(this Process p, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Default;
        if (p.WaitForExit(limit)) return;
        try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        Assert.Fail($"timed out after {limit.TotalSeconds:F0} s waiting for {what} to exit");
    }
}
