using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Mvar.Cli;

/// <summary>
/// Shared plumbing of the commands: one-line errors and exit codes. Every error is one line
/// <c>mvar: error: ...</c> on stderr: exit 1 for bad input (arguments, files, configs, I/O errors, a request the
/// machine's memory cannot hold), 70 for an internal error (a bug), 130 for an interrupted training run.
/// </summary>
public static partial class Cli
{
    public const int ExitUserError = 1, ExitInternalError = 70;

    /// <summary>
    /// Parses and runs. Argument errors (unknown options, missing or malformed values) are one
    /// <c>mvar: error: ...</c> line with the help command to read, exit 1.
    /// </summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var names = new List<string>();
            for (var r = parse.CommandResult; r != null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
                names.Add(r.Parent == null ? "mvar" : r.Command.Name);
            names.Reverse();
            string errors = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')).Distinct());
            return Fail($"{errors} (see '{string.Join(' ', names)} --help')", ExitUserError, null);
        }
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        return parse.Invoke(config);
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
        MvarException => Fail(e.Message, ExitUserError, e),
        IOException or UnauthorizedAccessException => Fail(Mvar.IO.AtomicFile.Reason(e), ExitUserError, e),
        OutOfMemoryException => Fail("out of memory: the request needs more memory than this machine has available", ExitUserError, e),
        ExternalException when LibTorchMessage(e.Message) is var (text, oom) => oom
            ? Fail($"out of memory: {text}", ExitUserError, e)
            : Fail($"internal error: libtorch: {text}", ExitInternalError, e),
        _ => Fail($"internal error: {e.GetType().Name}: {e.Message}", ExitInternalError, e),
    };

    /// <summary>
    /// A libtorch exception's message without its C++ source location and native stack ("Exception raised from ... at
    /// file:line", "frame #N: ..."), and whether it is an allocation failure.
    /// </summary>
    public static (string text, bool outOfMemory) LibTorchMessage(string message)
    {
        string text = message;
        int raised = text.IndexOf("Exception raised from", StringComparison.Ordinal);
        if (raised >= 0) text = text[..raised];
        int frame = text.IndexOf("frame #", StringComparison.Ordinal);
        if (frame >= 0) text = text[..frame];
        text = text.ReplaceLineEndings(" ").Trim().TrimEnd('.');
        var alloc = AllocRx().Match(message);
        if (alloc.Success && long.TryParse(alloc.Groups[1].Value, out long bytes))
            return ($"libtorch could not allocate {MemoryBudget.Gb(bytes)} (this machine has {MemoryBudget.Gb(MemoryBudget.AvailableBytes())} available)",
                true);
        return (text.Length == 0 ? "an unexplained libtorch error" : text, false);
    }

    [GeneratedRegex(@"can't allocate memory: you tried to allocate (\d+) bytes")] private static partial Regex AllocRx();

    static int Fail(string message, int code, Exception? e)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"mvar: error: {message.ReplaceLineEndings(" ")}");
        if (e != null && Environment.GetEnvironmentVariable("MVAR_DEBUG") == "1") Console.Error.WriteLine(e);
        return code;
    }

    /// <summary>The command line as typed (arguments with spaces quoted), for reports.</summary>
    public static string CommandLine() =>
        "mvar " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(a => a.Length == 0 || a.Any(char.IsWhiteSpace) ? $"\"{a}\"" : a));

    /// <summary>Seconds as mm:ss (h:mm:ss from an hour on) for progress lines.</summary>
    public static string Clock(double s) => TimeSpan.FromSeconds(Math.Min(s, 359999)).ToString(s >= 3600 ? @"h\:mm\:ss" : @"mm\:ss",
        CultureInfo.InvariantCulture);

    /// <summary>Sets the command's action to <paramref name="body"/> wrapped by <see cref="Run"/>.</summary>
    public static Command WithAction(this Command command, Func<ParseResult, int> body)
    {
        command.SetAction(parse => Run(() => body(parse)));
        return command;
    }
}
