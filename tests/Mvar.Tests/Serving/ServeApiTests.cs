using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Mvar.Cli.Serving;

namespace Mvar.Tests.Serving;

public sealed class ServeApiFixture : IAsyncLifetime
{
    public ServeTestServer Server { get; private set; } = null!;
    public async Task InitializeAsync() =>
        Server = await ServeTestServer.StartAsync(bothArchs: true, classNames: Enumerable.Range(0, 10).Select(i => $"thing {i}").ToArray());
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The HTTP API against the real server (in-process Kestrel on a free loopback port).</summary>
public class ServeApiTests(ServeApiFixture fixture) : IClassFixture<ServeApiFixture>
{
    HttpClient Http => fixture.Server.Http;
    static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G'];

    static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    async Task<JsonElement> PostJson(string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/samples") { Content = Body(json) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task HealthzAndModels()
    {
        var health = JsonDocument.Parse(await Http.GetStringAsync("/healthz")).RootElement;
        Assert.Equal("ok", health.GetProperty("status").GetString());
        var models = JsonDocument.Parse(await Http.GetStringAsync("/api/models")).RootElement;
        Assert.Equal(["mvar", "var"], models.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("arch").GetString()).Order());
        Assert.Equal(128, models.GetProperty("image_size").GetInt32());
        Assert.Equal("thing 3", models.GetProperty("class_names")[3].GetString());
        var sampling = models.GetProperty("sampling");   // the library's defaults, which the page shows
        Assert.Equal(1.5, sampling.GetProperty("cfg").GetDouble());
        Assert.Equal(20, sampling.GetProperty("max_cfg").GetDouble());
        Assert.Equal(Math.Min(900, models.GetProperty("vocab_size").GetInt32()), sampling.GetProperty("top_k").GetInt32());
        Assert.Equal(0.96, sampling.GetProperty("top_p").GetDouble());
    }

    [Fact]
    public async Task PageIsServed()
    {
        string page = await Http.GetStringAsync("/");
        Assert.Contains("/api/samples/stream", page);
        Assert.Contains("image-rendering: pixelated", page);
    }

    [Fact]
    public async Task PostReturnsAPngGrid()
    {
        using var response = await Http.PostAsync("/api/samples", Body("""{"class": 2, "count": 3, "seed": 5}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        var png = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(PngMagic, png[..4]);
        Assert.Equal("5", response.Headers.GetValues("X-Mvar-Seed").Single());
        Assert.Equal("2,2,2", response.Headers.GetValues("X-Mvar-Classes").Single());
    }

    [Fact]
    public async Task PostAsJsonGivesImagesTokensAndTheSameResultForTheSameSeed()
    {
        var a = await PostJson("""{"classes": [1, "Thing 4"], "count": 2, "cfg": 2, "top_k": 10, "top_p": 0.8, "seed": 7, "arch": "var"}""");
        Assert.Equal([1, 1, 4, 4], a.GetProperty("classes").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal("thing 4", a.GetProperty("class_names")[2].GetString());
        Assert.Equal(4, a.GetProperty("images").GetArrayLength());
        Assert.Equal(PngMagic, Convert.FromBase64String(a.GetProperty("images")[0].GetString()!)[..4]);
        var tokens = a.GetProperty("tokens");
        Assert.Equal(4, tokens.GetArrayLength());
        Assert.Equal([1, 4, 9, 16, 36, 64], tokens[0].EnumerateArray().Select(s => s.GetArrayLength()));
        Assert.Equal(6, a.GetProperty("timing").GetProperty("scale_seconds").GetArrayLength());

        var b = await PostJson("""{"classes": [1, 4], "count": 2, "cfg": 2, "top_k": 10, "top_p": 0.8, "seed": 7, "arch": "var"}""");
        Assert.Equal(a.GetProperty("tokens").GetRawText(), b.GetProperty("tokens").GetRawText());
        Assert.Equal(a.GetProperty("grid").GetString(), b.GetProperty("grid").GetString());
    }

    [Fact]
    public async Task StreamSendsOneEventPerScaleThenTheTiming()
    {
        using var response = await Http.GetAsync("/api/samples/stream?class=3&count=2&arch=mvar&seed=1&top_k=20", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = ParseEvents(await response.Content.ReadAsStringAsync());
        Assert.Equal(Enumerable.Repeat("scale", 6).Append("done"), events.Select(e => e.name));
        for (int k = 0; k < 6; k++)
        {
            Assert.Equal(k, events[k].data.GetProperty("scale").GetInt32());
            Assert.Equal(new[] { 1, 2, 3, 4, 6, 8 }[k], events[k].data.GetProperty("side").GetInt32());
            Assert.Equal(PngMagic, Convert.FromBase64String(events[k].data.GetProperty("image").GetString()!)[..4]);
        }
        var done = events[^1].data;
        Assert.Equal(6, done.GetProperty("timing").GetProperty("scale_seconds").GetArrayLength());
        Assert.True(done.GetProperty("timing").GetProperty("total_seconds").GetDouble() > 0);
        Assert.True(done.GetProperty("memory").GetProperty("current_mb").GetDouble() > 0);
        Assert.Equal([3, 3], done.GetProperty("classes").EnumerateArray().Select(c => c.GetInt32()));
    }

    [Fact]
    public async Task StreamsLastPreviewIsTheFinalGrid()
    {
        using var response = await Http.GetAsync("/api/samples/stream?class=6&seed=9");
        var events = ParseEvents(await response.Content.ReadAsStringAsync());
        var json = await PostJson("""{"class": 6, "seed": 9}""");
        Assert.Equal(json.GetProperty("grid").GetString(), events[5].data.GetProperty("image").GetString());
    }

    internal static List<(string name, JsonElement data)> ParseEvents(string text) =>
        text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(block =>
        {
            var lines = block.Split('\n');
            return (lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))[7..], JsonDocument.Parse(lines.Single(l => l.StartsWith("data: ",
                StringComparison.Ordinal))[6..]).RootElement);
        }).ToList();

    [Theory]
    [InlineData("""{"class": 10}""", "unknown class 10")]
    [InlineData("""{"class": -1}""", "unknown class -1")]
    [InlineData("""{"class": 1.5}""", "unknown class 1.5")]
    [InlineData("""{"class": "dog"}""", "unknown class \"dog\"")]
    [InlineData("""{"classes": []}""", "\"classes\" is empty")]
    [InlineData("""{"class": 1, "classes": [2]}""", "not both")]
    [InlineData("""{"count": 17}""", "\"count\" must be within [1, 16]")]
    [InlineData("""{"count": 0}""", "\"count\" must be within [1, 16]")]
    [InlineData("""{"classes": [1, 2, 3], "count": 6}""", "more than the 16 samples")]
    [InlineData("""{"cfg": -0.5}""", "\"cfg\" must be within [0, 20]")]
    [InlineData("""{"cfg": 21}""", "\"cfg\" must be within [0, 20]")]
    [InlineData("""{"cfg": "high"}""", "\"cfg\" must be a number")]
    [InlineData("""{"top_k": -1}""", "\"top_k\" must be within [0, 64]")]
    [InlineData("""{"top_k": 65}""", "\"top_k\" must be within [0, 64] (the vocabulary), got 65")]
    [InlineData("""{"top_k": 1e30}""", "\"top_k\" must be within [0, 64] (the vocabulary)")]
    [InlineData("""{"top_k": 2.5}""", "\"top_k\" must be an integer")]
    [InlineData("""{"top_p": 1.01}""", "\"top_p\" must be within [0, 1]")]
    [InlineData("""{"top_p": -0.1}""", "\"top_p\" must be within [0, 1]")]
    [InlineData("""{"seed": -1}""", "\"seed\" must be an integer")]
    [InlineData("""{"seed": 1e30}""", "\"seed\" must be an integer")]
    [InlineData("""{"arch": "dit"}""", "arch \"dit\" is not loaded")]
    [InlineData("""{"arch": 3}""", "\"arch\" must be a string")]
    [InlineData("""{"colour": 3}""", "unknown field \"colour\"")]
    [InlineData("""{"class": 3""", "malformed JSON")]
    [InlineData("", "malformed JSON")]
    [InlineData("[1, 2]", "must be a JSON object")]
    [InlineData("""{"count": 1, "count": 2}""", "malformed JSON")]
    [InlineData("""{"class": "\ud800"}""", "malformed JSON")]
    [InlineData("""{"classes": [1, "\udfff x"]}""", "malformed JSON")]
    [InlineData("null", "must be a JSON object")]
    public async Task BadRequestsAre400WithAJsonError(string body, string expected)
    {
        using var response = await Http.PostAsync("/api/samples", Body(body));
        await AssertError(response, HttpStatusCode.BadRequest, expected);
    }

    [Fact]
    public async Task OversizedBodyIs400()
    {
        string big = "{\"class\": 1" + new string(' ', 20_000) + "}";
        using var response = await Http.PostAsync("/api/samples", Body(big));
        await AssertError(response, HttpStatusCode.BadRequest, "larger than 16384 bytes");
        // past Kestrel's own limit; with Expect: 100-continue the client waits for the server's answer before sending the
        // body, as a well-behaved client does: without it the server's early 400 and close could race the client's
        // writes (a broken pipe seen once in CI)
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/samples") { Content = new ByteArrayContent(new byte[3 << 20]) };
        request.Headers.ExpectContinue = true;
        using var huge = await Http.SendAsync(request);
        await AssertError(huge, HttpStatusCode.BadRequest, "larger than");
    }

    [Theory]
    [InlineData("class=11", "unknown class 11")]
    [InlineData("class=1&cfg=abc", "\"cfg\" must be a number")]
    [InlineData("class=1&top_p=2", "\"top_p\" must be within [0, 1]")]
    [InlineData("class=1&seed=1&seed=2", "more than once")]
    [InlineData("class=1&size=3", "unknown field \"size\"")]
    public async Task BadStreamQueriesAre400(string query, string expected)
    {
        using var response = await Http.GetAsync("/api/samples/stream?" + query);
        await AssertError(response, HttpStatusCode.BadRequest, expected);
    }

    [Fact]
    public async Task StreamAcceptsClassNamesAndLists()
    {
        using var response = await Http.GetAsync("/api/samples/stream?class=thing%201,2&seed=3");
        var events = ParseEvents(await response.Content.ReadAsStringAsync());
        Assert.Equal([1, 2], events[^1].data.GetProperty("classes").EnumerateArray().Select(c => c.GetInt32()));
    }

    [Fact]
    public async Task UnknownEndpointIs404Json()
    {
        using var response = await Http.GetAsync("/api/nothing");
        await AssertError(response, HttpStatusCode.NotFound, "no such endpoint");
    }

    internal static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string expected)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, JsonDocument.Parse(text).RootElement.GetProperty("error").GetString());
    }
}

/// <summary>Load behaviour of the real server: a full queue, deadlines, batching of concurrent requests.</summary>
public class ServeLoadTests
{
    [Fact]
    public async Task FullQueueIs429WithRetryAfter()
    {
        GatedRunner? gated = null;
        await using var server = await ServeTestServer.StartAsync(new ServeSettings { QueueCapacity = 1 }, r => gated = new GatedRunner(r));
        var http = server.Http;
        var running = http.PostAsync("/api/samples", new StringContent("""{"class": 1, "seed": 1}"""));
        gated!.Entered.Enter("the worker to start the first request");   // the worker is busy with the first request
        var queued = http.PostAsync("/api/samples", new StringContent("""{"class": 2, "seed": 2}"""));
        await Waits.Until(() => server.App.Queue.Pending >= 1, "the second request to be queued");
        using var refused = await http.PostAsync("/api/samples", new StringContent("""{"class": 3, "seed": 3}"""));
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Contains("queue is full", await refused.Content.ReadAsStringAsync());
        using var refusedStream = await http.GetAsync("/api/samples/stream?class=3");
        Assert.Equal((HttpStatusCode)429, refusedStream.StatusCode);
        gated.Gate.Set();
        Assert.Equal(HttpStatusCode.OK, (await running.Within("the first request")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await queued.Within("the queued request")).StatusCode);
    }

    [Fact]
    public async Task MissedDeadlineIs504()
    {
        GatedRunner? gated = null;
        await using var server = await ServeTestServer.StartAsync(new ServeSettings { Timeout = TimeSpan.FromMilliseconds(300) },
            r => gated = new GatedRunner(r));
        using var response = await server.Http.PostAsync("/api/samples", new StringContent("""{"class": 1}"""));
        await ServeApiTests.AssertError(response, HttpStatusCode.GatewayTimeout, "deadline");
        using var stream = await server.Http.GetAsync("/api/samples/stream?class=1");
        await ServeApiTests.AssertError(stream, HttpStatusCode.GatewayTimeout, "deadline");
        gated!.Gate.Set();
    }

    [Fact]
    public async Task ConcurrentCompatibleRequestsShareABatchAndKeepTheirOwnResults()
    {
        GatedRunner? gated = null;
        await using var server = await ServeTestServer.StartAsync(new ServeSettings { MaxBatch = 8 }, r => gated = new GatedRunner(r));
        var http = server.Http;
        async Task<JsonElement> Post(string json)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/samples") { Content = new StringContent(json) };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await http.SendAsync(request);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        }
        var first = Post("""{"class": 0, "seed": 100}""");
        gated!.Entered.Enter("the worker to start the first request");
        var together = Enumerable.Range(1, 3).Select(i => Post($$"""{"class": {{i}}, "seed": {{100 + i}}, "count": 2}""")).ToList();
        await Waits.Until(() => server.App.Queue.Pending >= 3, "three requests to be queued");
        gated.Gate.Set();
        await first.Within("the first request");
        var batched = await Task.WhenAll(together).Within("the batched requests");
        Assert.All(batched, r => Assert.Equal(3, r.GetProperty("timing").GetProperty("batch_requests").GetInt32()));
        for (int i = 1; i <= 3; i++)   // each equals the same request served alone
        {
            var alone = await Post($$"""{"class": {{i}}, "seed": {{100 + i}}, "count": 2}""").Within($"request {i} alone");
            Assert.Equal(1, alone.GetProperty("timing").GetProperty("batch_requests").GetInt32());
            Assert.Equal(alone.GetProperty("tokens").GetRawText(), batched[i - 1].GetProperty("tokens").GetRawText());
        }
    }
}
