using System.Text.Json.Nodes;
using Mvar.Analysis;
using Mvar.IO;

namespace Mvar.Tests.Cli;

public class AnalyzeCommandTests
{
    static readonly string TinyMvar = Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json");

    static string[] Base(string model, params string[] more) =>
        ["analyze", "attention", "--config", TinyMvar, "--vae", Fixtures.Parity("vae.pth"), "--model", Fixtures.Parity(model), .. more];

    [Fact]
    public void VarSamplesGiveHeatmapsCurveAndJsonWithRowsSummingToOne()
    {
        string dir = Path.Combine(Fixtures.TempDir(), "out");
        var r = CliRunner.Run(Base("var.pth", "--arch", "var", "--samples", "3", "--batch", "2", "--top-k", "20", "--out", dir));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("adjacent-scale mass within k x k", r.StdOut);
        foreach (var f in new[] { "scale_mass.png", "window_mass.png", "blocks/scale_mass_block0.png", "blocks/scale_mass_block1.png" })
            Assert.True(ImageFiles.ReadPixels(Path.Combine(dir, f), 3).width > 100, f);
        var report = AttentionReport.FromJson(File.ReadAllText(Path.Combine(dir, "attention.json")));
        Assert.Equal(("var", 3, 2), (report.Arch, report.Images, report.Depth));
        foreach (var row in report.ScaleMass) Assert.Equal(1.0, row.Sum(v => v!.Value), 5);
        Assert.Equal(8, report.AdjacentWindowCurve.Length);
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "attention.json")))!["adjacent_window_fraction"]);
    }

    [Fact]
    public void MvarImagesReportTheWithinScaleNeighbourhoodMass()
    {
        string root = Fixtures.TempDir(), images = Path.Combine(root, "imgs"), dir = Path.Combine(root, "out");
        Directory.CreateDirectory(images);
        var px = new byte[128 * 128 * 3];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i * 13 % 255);
        ImageFiles.WritePng(px, 128, 128, 3, Path.Combine(images, "a.png"));
        File.WriteAllText(Path.Combine(images, "notes.txt"), "not an image");
        var r = CliRunner.Run(Base("mvar.pth", "--images", images, "--out", dir));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("kernel_size 3", r.StdOut);
        var report = AttentionReport.FromJson(File.ReadAllText(Path.Combine(dir, "attention.json")));
        Assert.Equal(("mvar", 1, 3, 4), (report.Arch, report.Images, report.KernelSize, report.RefineStep));
        Assert.All(report.OwnWindowCurve, v => Assert.InRange(v!.Value, 0, 1 + 1e-9));
        Assert.True(File.Exists(Path.Combine(dir, "window_mass.png")));
    }

    [Theory]
    [InlineData("exactly one of --images DIR or --samples N")]
    [InlineData("--samples must be at least 1", "--samples", "0")]
    [InlineData("image folder not found", "--images", "MISSING")]
    [InlineData("no PNG/JPEG images in", "--images", "EMPTY")]
    [InlineData("--batch must be at least 1", "--samples", "2", "--batch", "0")]
    public void BadInputsAreOneLineErrorsWithoutOutput(string expected, params string[] more)
    {
        string root = Fixtures.TempDir(), empty = Path.Combine(root, "empty"), dir = Path.Combine(root, "out");
        Directory.CreateDirectory(empty);
        var args = more.Select(a => a == "MISSING" ? Path.Combine(root, "nope") : a == "EMPTY" ? empty : a).ToArray();
        var r = CliRunner.Run(Base("var.pth", [.. args, "--out", dir]));
        CliRunner.AssertOneLineError(r, expected);
        Assert.False(Directory.Exists(dir));
    }
}
