using System.CommandLine;
using Mvar;

namespace Mvar.Cli;

/// <summary>Shared plumbing of the commands: one-line errors and exit codes.</summary>
public static class Cli
{
    public const int ExitOk = 0, ExitUserError = 1, ExitInternalError = 70;

    /// <summary>Parses and runs; parse errors print the usage error and exit 2 (System.CommandLine's default).</summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        return root.Parse(args).Invoke(config);
    }

    /// <summary>
    /// Runs a command body: a <see cref="MvarException"/> (bad input) or an I/O error becomes one line on stderr and
    /// exit 1; anything else is a bug, reported on one line too (exit 70), with the stack trace only under MVAR_DEBUG=1.
    /// </summary>
    public static int Run(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) { return Report(e); }
    }

    /// <summary>Prints the one-line error of <paramref name="e"/> and returns its exit code (see <see cref="Run"/>).</summary>
    public static int Report(Exception e) => e switch
    {
        MvarException or IOException or UnauthorizedAccessException => Fail(e.Message, ExitUserError, e),
        _ => Fail($"internal error: {e.GetType().Name}: {e.Message}", ExitInternalError, e),
    };

    static int Fail(string message, int code, Exception e)
    {
        Console.Error.WriteLine($"mvar: error: {message.ReplaceLineEndings(" ")}");
        if (Environment.GetEnvironmentVariable("MVAR_DEBUG") == "1") Console.Error.WriteLine(e);
        return code;
    }

    /// <summary>The command line as typed (arguments with spaces quoted), for reports.</summary>
    public static string CommandLine() =>
        "mvar " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(a => a.Length == 0 || a.Any(char.IsWhiteSpace) ? $"\"{a}\"" : a));

    /// <summary>Seconds as mm:ss (h:mm:ss from an hour on) for progress lines.</summary>
    public static string Clock(double s) => TimeSpan.FromSeconds(Math.Min(s, 359999)).ToString(s >= 3600 ? @"h\:mm\:ss" : @"mm\:ss");

    /// <summary>Sets the command's action to <paramref name="body"/> wrapped by <see cref="Run"/>.</summary>
    public static Command WithAction(this Command command, Func<ParseResult, int> body)
    {
        command.SetAction(parse => Run(() => body(parse)));
        return command;
    }
}
