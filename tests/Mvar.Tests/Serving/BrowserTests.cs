using System.Diagnostics;

namespace Mvar.Tests.Serving;

/// <summary>Runs only where headless Chromium and playwright-core are installed (./test installs both when it can), or fails under
/// MVAR_TEST_REQUIRE_ALL=1.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public static string Chromium => Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";
    public static string ScriptDir => Path.Combine(Fixtures.RepoRoot, "tests", "browser");

    public BrowserFactAttribute()
    {
        Skip ??= TestRequirements.Skip(TestRequirements.BrowserMissing);
    }
}

public class BrowserTests
{
    /// <summary>Opens the page in headless Chromium, picks VAR and a class, clicks Generate, waits for the last scale, saves a screenshot.</summary>
    [BrowserFact]
    public async Task PageGeneratesScaleByScaleInHeadlessChromium()
    {
        await using var server = await ServeTestServer.StartAsync(bothArchs: true);
        string shot = Path.Combine(Fixtures.TempDir(), "serve.png");
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = BrowserFactAttribute.ScriptDir
        };
        foreach (var a in new[] { "generate.mjs", server.App.Address.ToString(), shot, "--class", "3", "--arch", "var", "--seed",
            "0" }) psi.ArgumentList.Add(a);
        using var node = Process.Start(psi)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail("the browser test did not finish in 2 minutes");
        }
        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}:\n{await stdout}\n{await stderr}");
        Assert.Contains("\"previews\":6", await stdout);
        Assert.Contains("VAR", await stdout);
        var png = await File.ReadAllBytesAsync(shot);
        Assert.True(png.Length > 10_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', $"screenshot of {png.Length} bytes");
    }
}
