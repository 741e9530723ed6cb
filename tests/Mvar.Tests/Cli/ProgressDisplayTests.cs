using System.Text.RegularExpressions;
using Mvar.Cli;
using Spectre.Console.Testing;

namespace Mvar.Tests.Cli;

/// <summary>The progress display: a live bar in a terminal (Spectre's test console), plain lines when redirected.</summary>
public class ProgressDisplayTests
{
    static int Job(ProgressDisplay d, int total, int every, double? loss = null)
    {
        for (int i = every; i <= total; i += every)
        {
            Thread.Sleep(2);
            d.Report(new WorkProgress(i, total, loss));
        }
        return 42;
    }

    [Fact]
    public void ATerminalGetsALiveBarWithCountsRateEtaAndLoss()
    {
        using var console = new TestConsole().Interactive().EmitAnsiSequences().Width(120);
        int r = ProgressDisplay.Run("tokenizer", "steps", 80, plainEvery: 0, d => Job(d, 80, 4, loss: 0.25), start: 20, console: console);
        Assert.Equal(42, r);
        string output = console.Output;
        Assert.Contains("\u001b[", output);                                  // drawn with ANSI sequences (colours, cursor)
        Assert.Contains("100%", output);
        Assert.Matches(@"tokenizer 80/80 steps \d+\.\d\d steps/s ETA 00:00 loss 0\.2500", output);
        Assert.DoesNotContain("tokenizer 4/80", output);                      // a resumed run starts at its step (20)
    }

    [Fact]
    public void RedirectedOutputGetsPlainLinesEveryNUnitsAndAtTheEnd()
    {
        var plain = new StringWriter();
        ProgressDisplay.Run("tokenizing", "images", 2500, plainEvery: 1000, d => Job(d, 2500, 100), plainOut: plain);
        var lines = plain.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Matches(@"^tokenizing \d+/2500 images \d+\.\d\d images/s ETA \d\d:\d\d$", l));
        Assert.Equal(["1000", "2000", "2500"], lines.Select(l => Regex.Match(l, @"(\d+)/").Groups[1].Value));
        Assert.DoesNotContain('\u001b', plain.ToString());
        Assert.DoesNotContain('\r', plain.ToString());
    }

    [Fact]
    public void PlainLinesFollowTheCountsAReporterSkipsAndEndOnce()
    {
        var plain = new StringWriter();
        ProgressDisplay.Run("reconstructed", "images", 700, plainEvery: 250, d =>
        {
            foreach (var done in new[] { 128, 256, 384, 512, 640, 700, 700 }) d.Report(new WorkProgress(done, 700));   // batches of 128
            return 0;
        }, plainOut: plain);
        var counts = plain.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Regex.Match(l, @" (\d+)/").Groups[1].Value);
        Assert.Equal(["256", "512", "700"], counts);
    }

    [Mvar.Tests.Training.FashionMnistFact]
    public void ACommandWithRedirectedStderrWritesPlainProgressLines()
    {
        string npz = Path.Combine(Fixtures.TempDir(), "rec.npz");
        var r = CliRunner.Run("reconstruct", "--preset", "fashion-mnist", "--data", "fashion-mnist:t10k", "--limit", "300", "--npz", npz);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Matches(@"(?m)^reconstructed 300/300 images \d+\.\d\d images/s ETA 00:00$", r.StdErr);
        Assert.DoesNotContain('\u001b', r.StdErr);
        Assert.DoesNotContain('\r', r.StdErr);
    }
}
