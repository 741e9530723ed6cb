using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Mvar.Cli;

/// <summary>
/// The progress of a long job (training steps, images tokenized, reconstructed, sampled) on stderr: units done of the
/// total, rate, remaining time and the loss where there is one. In a terminal a live Spectre.Console bar; when stderr
/// is redirected (CI logs, files) plain lines without escape codes, one every <c>plainEvery</c> units and one at
/// the end (<c>plainEvery</c> 0: none, for jobs whose own log lines already say as much).
/// </summary>
public sealed class ProgressDisplay : IProgress<WorkProgress>
{
    readonly string label, unit;
    readonly long start, plainEvery;
    readonly TextWriter? plain;
    readonly IAnsiConsole? live;
    readonly ProgressTask? task;
    readonly Stopwatch clock = Stopwatch.StartNew();
    long nextLine;
    bool ended;

    ProgressDisplay(string label, string unit, long start, long plainEvery, TextWriter? plain, IAnsiConsole? live, ProgressTask? task)
    {
        (this.label, this.unit, this.start, this.plainEvery, this.plain, this.live, this.task) = (label, unit, start, plainEvery, plain, live, task);
        nextLine = plainEvery > 0 ? (start / plainEvery + 1) * plainEvery : long.MaxValue;
    }

    /// <summary>
    /// Runs <paramref name="job"/> with a display of <paramref name="total"/> units, <paramref name="start"/> of them
    /// done before (a resumed run; the rate counts the rest). <paramref name="console"/> (tests) replaces the
    /// terminal; <paramref name="plainOut"/> (tests) replaces the redirected stderr.
    /// </summary>
    public static T Run<T>(string label, string unit, long total, long plainEvery, Func<ProgressDisplay, T> job,
        long start = 0, IAnsiConsole? console = null, TextWriter? plainOut = null)
    {
        if (console == null && (plainOut != null || Console.IsErrorRedirected))
            return job(new ProgressDisplay(label, unit, start, plainEvery, plainOut ?? Console.Error, null, null));
        console ??= AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Progress().AutoClear(false)
            .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left })
            .Start(ctx =>
            {
                var t = ctx.AddTask(Markup.Escape(label), maxValue: Math.Max(total, 1));
                t.Value = start;
                return job(new ProgressDisplay(label, unit, start, plainEvery, null, console, t));
            });
    }

    public void Report(WorkProgress p)
    {
        string line = Describe(p);
        if (task != null)
        {
            task.MaxValue = Math.Max(p.Total, 1);
            task.Value = p.Done;
            task.Description = Markup.Escape(line);
            return;
        }
        bool end = p.Done >= p.Total;
        if (ended || (p.Done < nextLine && !end)) return;
        plain!.WriteLine(line);
        if (plainEvery > 0) nextLine = (p.Done / plainEvery + 1) * plainEvery;
        ended = end;   // the end is said once
    }

    /// <summary>"label 120/8000 steps 3.20 steps/s ETA 41:02 loss 0.1234".</summary>
    public string Describe(WorkProgress p)
    {
        double seconds = clock.Elapsed.TotalSeconds, rate = (p.Done - start) / Math.Max(seconds, 1e-9);
        string eta = rate > 0 ? Cli.Clock((p.Total - p.Done) / rate) : "--:--";
        return string.Create(CultureInfo.InvariantCulture,
            $"{label} {p.Done}/{p.Total} {unit} {rate:F2} {unit}/s ETA {eta}{(p.Loss is double l ? $" loss {l:F4}" : "")}");
    }

    /// <summary>
    /// A line of the job's own output on stdout; with a live display on the same terminal it is written through the
    /// display's console (above the bar) so the two do not overwrite each other.
    /// </summary>
    public void WriteLine(string line)
    {
        if (live != null && !Console.IsOutputRedirected) live.WriteLine(line);
        else Console.Out.WriteLine(line);
    }
}
