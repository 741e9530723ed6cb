using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mvar.Tests.Cli;

namespace Mvar.Tests.Serving;

/// <summary>`mvar serve` as a process: it prints its address, answers, and stops cleanly on a termination signal.</summary>
public class ServeCommandTests
{
    static readonly string[] Models =
    [
        "--config", Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json"),
        "--vae", Fixtures.Parity("vae.pth"), "--model", Fixtures.Parity("mvar.pth"),
    ];

    [Fact]
    public async Task ServesAndStopsGracefullyOnSigterm()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Mvar.Cli.dll"), "serve", "--port", "0", "--threads", "1" }.Concat(Models))
            psi.ArgumentList.Add(a);
        using var server = Process.Start(psi)!;
        try
        {
            var stderr = new System.Text.StringBuilder();
            string? address = null;
            var read = Task.Run(() =>
            {
                for (string? line; (line = server.StandardError.ReadLine()) != null;)
                {
                    lock (stderr) stderr.AppendLine(line);
                    address ??= Regex.Match(line, @"on (http://127\.0\.0\.1:\d+/)") is { Success: true } m ? m.Groups[1].Value : null;
                }
            });
            var waited = Stopwatch.StartNew();
            while (address == null && !server.HasExited && waited.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(50);
            Assert.True(address != null, $"no address printed:\n{stderr}");
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            Assert.Contains("\"ok\"", await http.GetStringAsync("/healthz"));
            using var png = await http.PostAsync("/api/samples", new StringContent("""{"class": 1, "seed": 0}"""));
            Assert.Equal(System.Net.HttpStatusCode.OK, png.StatusCode);

            Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)])!.Exit("kill");
            Assert.True(server.WaitForExit(TimeSpan.FromSeconds(30)), "the server did not stop on SIGTERM");
            await read;
            Assert.Equal(0, server.ExitCode);
            Assert.Contains("mvar: server stopped", stderr.ToString());
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void PortInUseIsAOneLineError()
    {
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            string port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
            CliRunner.AssertOneLineError(CliRunner.Run([.. new[] { "serve", "--port", port }.Concat(Models)]), $"cannot listen on 127.0.0.1:{port}");
        }
        finally { taken.Stop(); }
    }

    [Theory]
    [InlineData("--port", "70000", "--port must be within [0, 65535]")]
    [InlineData("--host", "example.org", "--host must be an IP address")]
    [InlineData("--threads", "0", "--threads must be at least 1")]
    [InlineData("--max-batch", "0", "largest batch must be at least 1")]
    public void BadOptionsAreOneLineErrors(string option, string value, string expected) =>
        CliRunner.AssertOneLineError(CliRunner.Run([.. new[] { "serve", option, value }.Concat(Models)]), expected);
}
