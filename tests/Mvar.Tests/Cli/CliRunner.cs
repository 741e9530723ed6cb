using System.Diagnostics;

namespace Mvar.Tests.Cli;

/// <summary>Runs the real `mvar` CLI (Mvar.Cli.dll beside the tests) in a child process, as a user would.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(params string[] args) => RunWith(null, [], args);

    /// <summary>
    /// Runs `mvar args` with extra environment variables, optionally under a launcher: <paramref name="prefix"/> is the
    /// command line before `dotnet Mvar.Cli.dll` (e.g. mpirun -np 2).
    /// </summary>
    public static Result RunWith(IReadOnlyDictionary<string, string>? env, IReadOnlyList<string> prefix, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Mvar.Cli.dll");
        var psi = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
            RedirectStandardInput = prefix.Count > 0, UseShellExecute = false
        };
        foreach (var a in prefix.Skip(1)) psi.ArgumentList.Add(a);
        if (prefix.Count > 0) psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "200";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        if (prefix.Count > 0) p.StandardInput.Close();   // mpirun forwards its stdin to rank 0
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"mvar {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Asserts a clean failure: non-zero exit, exactly one line on stderr containing <paramref name="expected"/>.</summary>
    public static void AssertOneLineError(Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one stderr line, got:\n{r.StdErr}");
        Assert.StartsWith("mvar: error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }
}
