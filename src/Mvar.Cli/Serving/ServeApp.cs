using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mvar.Serving;

namespace Mvar.Cli.Serving;

/// <summary>
/// The HTTP side of <c>mvar serve</c> on Kestrel: the page, /api/models, /api/samples (PNG grid or JSON),
/// /api/samples/stream (server-sent events, one per scale, then the timing) and /healthz. Generation goes through one
/// <see cref="GenerationQueue"/>; every bad request is a 400 with <c>{"error": "..."}</c>.
/// </summary>
public sealed class ServeApp : IAsyncDisposable
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,   // readable messages; never embedded in HTML
    };
    readonly WebApplication app;
    readonly ServedModels models;
    readonly ServeSettings settings;
    readonly SampleRequestReader reader;
    readonly TextWriter? log;

    ServeApp(WebApplication app, ServedModels models, ServeSettings settings, GenerationQueue queue, TextWriter? log)
    {
        this.app = app;
        this.models = models;
        this.settings = settings;
        this.log = log;
        Queue = queue;
        reader = new SampleRequestReader(models, settings.MaxSamples);
    }

    public GenerationQueue Queue { get; }
    /// <summary>The address the server listens on, e.g. http://127.0.0.1:8080.</summary>
    public Uri Address { get; private set; } = null!;
    public IHostApplicationLifetime Lifetime => app.Lifetime;

    /// <summary>Starts listening. <paramref name="runner"/> replaces the sampler (tests); <paramref name="log"/> gets one line per generation.</summary>
    public static async Task<ServeApp> StartAsync(ServedModels models, ServeSettings settings, IBatchRunner? runner = null, TextWriter? log = null)
    {
        if (!IPAddress.TryParse(settings.Host == "localhost" ? "127.0.0.1" : settings.Host, out var ip))
            throw new MvarException($"--host must be an IP address (or localhost), got \"{settings.Host}\"");
        if (settings.Port is < 0 or > 65535) throw new MvarException($"--port must be within [0, 65535], got {settings.Port}");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownGrace + TimeSpan.FromSeconds(5));
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(ip, settings.Port);
            o.Limits.MaxRequestBodySize = Math.Max(1 << 20, settings.MaxBodyBytes);
            o.AddServerHeader = false;
        });
        var web = builder.Build();
        var queue = new GenerationQueue(runner ?? new SamplerBatchRunner(models.Samplers), settings.QueueCapacity, settings.MaxBatch);
        var server = new ServeApp(web, models, settings, queue, log);
        server.MapRoutes();
        web.Lifetime.ApplicationStopping.Register(() => queue.Stop(settings.ShutdownGrace));
        try { await web.StartAsync(); }
        catch (Exception e) when (e is IOException or Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            queue.Dispose();
            throw new MvarException($"cannot listen on {settings.Host}:{settings.Port}: {e.Message}");
        }
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(address);
        return server;
    }

    public Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        Queue.Dispose();
    }

    void MapRoutes()
    {
        byte[] page = Page();
        app.MapGet("/", (HttpContext ctx) => Write(ctx, 200, "text/html; charset=utf-8", page));
        app.MapGet("/healthz", (HttpContext ctx) => WriteJson(ctx, 200, new
        {
            status = "ok", pending = Queue.Pending, queue_capacity = Queue.Capacity, max_batch = Queue.MaxBatch,
            batches_run = Queue.BatchesRun, requests_completed = Queue.JobsCompleted,
        }));
        app.MapGet("/api/models", (HttpContext ctx) => WriteJson(ctx, 200, models.Describe()));
        app.MapPost("/api/samples", (HttpContext ctx) => Guarded(ctx, PostSamples));
        app.MapGet("/api/samples/stream", (HttpContext ctx) => Guarded(ctx, StreamSamples));
        app.MapFallback((HttpContext ctx) => WriteJson(ctx, 404, new { error = $"no such endpoint: {ctx.Request.Method} {ctx.Request.Path}" }));
    }

    async Task PostSamples(HttpContext ctx)
    {
        var request = reader.FromJson(await ReadBody(ctx));
        using var job = new GenerationJob(request, settings.Timeout, ctx.RequestAborted);
        Queue.Enqueue(job);
        var result = await job.Result;
        Log(ctx, request, result);
        if (ctx.Request.Headers.Accept.Any(a => a != null && a.Contains("application/json")))
        {
            await WriteJson(ctx, 200, new
            {
                arch = request.Arch,
                seed = result.Seed.ToString(CultureInfo.InvariantCulture),   // a string: ulong seeds do not fit a JavaScript number
                classes = result.Classes,
                class_names = result.Classes.Select(c => models.ClassNames[c]),
                grid = Convert.ToBase64String(result.GridPng),
                images = result.ImagePngs.Select(Convert.ToBase64String),
                patch_nums = models.Config.Tokenizer.PatchNums,
                tokens = result.Tokens,
                timing = Timing(result),
                memory = Memory(result),
            });
            return;
        }
        ctx.Response.Headers["X-Mvar-Seed"] = result.Seed.ToString(CultureInfo.InvariantCulture);
        ctx.Response.Headers["X-Mvar-Classes"] = string.Join(",", result.Classes);
        await Write(ctx, 200, "image/png", result.GridPng);
    }

    async Task StreamSamples(HttpContext ctx)
    {
        var request = reader.FromQuery(ctx.Request.Query);
        var previews = System.Threading.Channels.Channel.CreateUnbounded<ScalePreview>();
        using var job = new GenerationJob(request, settings.Timeout, ctx.RequestAborted, p => previews.Writer.TryWrite(p));
        _ = job.Result.ContinueWith(_ => previews.Writer.TryComplete(), TaskScheduler.Default);
        Queue.Enqueue(job);
        await job.Started;   // failures before the first scale are plain JSON errors with their status

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        await foreach (var p in previews.Reader.ReadAllAsync(ctx.RequestAborted))
            await Event(ctx, "scale", new
            {
                scale = p.Scale, scales = p.ScaleCount, side = p.Side, seconds = p.Seconds,
                image = Convert.ToBase64String(p.GridPng)
            });
        var result = await job.Result;
        Log(ctx, request, result);
        await Event(ctx, "done", new
        {
            arch = request.Arch, seed = result.Seed.ToString(CultureInfo.InvariantCulture), classes = result.Classes,
            class_names = result.Classes.Select(c => models.ClassNames[c]), timing = Timing(result), memory = Memory(result),
        });
    }

    static object Timing(GenerationResult r) => new
    {
        queue_seconds = r.QueueSeconds, scale_seconds = r.ScaleSeconds, preview_seconds = r.PreviewSeconds, decode_seconds = r.DecodeSeconds,
        total_seconds = r.TotalSeconds,
        batch_requests = r.BatchRequests, batch_samples = r.BatchSamples,
    };

    static object Memory(GenerationResult r) => new { current_mb = r.MemoryMb, peak_mb = r.PeakMemoryMb };

    /// <summary>Runs a handler; errors become a JSON error with their status (or an error event once a stream has started).</summary>
    async Task Guarded(HttpContext ctx, Func<HttpContext, Task> handler)
    {
        try { await handler(ctx); }
        catch (Exception e) when (ctx.RequestAborted.IsCancellationRequested
            && e is OperationCanceledException or ServingException { Status: ServingException.ClientClosed })
        { }
        catch (Exception e)
        {
            var (status, message) = e switch
            {
                ServingException s => (s.Status, s.Message),
                MvarException m => (400, m.Message),
                BadHttpRequestException b => (400, b.Message),
                _ => (500, $"internal error: {e.GetType().Name}: {e.Message}"),
            };
            if (status == 500) log?.WriteLine($"mvar serve: {ctx.Request.Method} {ctx.Request.Path}: {e}");
            if (ctx.Response.HasStarted) { await Event(ctx, "error", new { error = message, status }); return; }
            if (status == ServingException.QueueFull) ctx.Response.Headers.RetryAfter = Queue.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await WriteJson(ctx, status, new { error = message });
        }
    }

    /// <summary>The body as text, at most <see cref="ServeSettings.MaxBodyBytes"/> bytes.</summary>
    async Task<string> ReadBody(HttpContext ctx)
    {
        int max = settings.MaxBodyBytes;
        string tooLarge = $"the body is larger than {max} bytes";
        if (ctx.Request.ContentLength > max) throw new MvarException(tooLarge);
        var buffer = new byte[max + 1];
        int n = 0, read;
        while (n < buffer.Length && (read = await ctx.Request.Body.ReadAsync(buffer.AsMemory(n), ctx.RequestAborted)) > 0) n += read;
        if (n > max) throw new MvarException(tooLarge);
        try { return new UTF8Encoding(false, true).GetString(buffer, 0, n); }
        catch (DecoderFallbackException) { throw new MvarException("the body is not UTF-8 text"); }
    }

    void Log(HttpContext ctx, GenerationRequest r, GenerationResult result) =>
        log?.WriteLine($"{ctx.Request.Method} {ctx.Request.Path} {r.Arch} {r.Size} sample(s) seed {result.Seed}: queue {result.QueueSeconds:F2}s, "
            + $"batch of {result.BatchRequests} ({result.BatchSamples} samples) {result.TotalSeconds:F2}s");

    static async Task Event(HttpContext ctx, string name, object data)
    {
        await ctx.Response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(data, Json)}\n\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    static Task WriteJson(HttpContext ctx, int status, object body) =>
        Write(ctx, status, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(body, Json));

    static async Task Write(HttpContext ctx, int status, string contentType, byte[] body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = contentType;
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body, ctx.RequestAborted);
    }

    static byte[] Page()
    {
        using var stream = typeof(ServeApp).Assembly.GetManifestResourceStream("Mvar.Cli.Serving.index.html")
            ?? throw new InvalidOperationException("the page is missing from the assembly (Serving/index.html)");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
