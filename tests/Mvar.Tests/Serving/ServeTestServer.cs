using Mvar.Cli.Serving;
using Mvar.Config;
using Mvar.Serving;
using Mvar.Tokenizer;
using Mvar.Transformer;

namespace Mvar.Tests.Serving;

/// <summary>An in-process <c>mvar serve</c> (the real Kestrel app) on a free loopback port, over the parity fixture models.</summary>
public sealed class ServeTestServer : IAsyncDisposable
{
    public static readonly ModelConfig Config = ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json"));

    ServeTestServer(ServedModels models, ServeApp app)
    {
        Models = models;
        App = app;
        Http = new HttpClient { BaseAddress = app.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public ServedModels Models { get; }
    public ServeApp App { get; }
    public HttpClient Http { get; }

    /// <summary>Loads the fixture models (MVAR, or both archs from mvar.pth / var.pth) and starts the server.</summary>
    public static async Task<ServeTestServer> StartAsync(ServeSettings? settings = null, Func<SamplerBatchRunner, IBatchRunner>? wrapRunner = null,
        bool bothArchs = false, string[]? classNames = null)
    {
        var tokenizer = VqVaeLoader.Load(Config.Tokenizer, Fixtures.Parity("vae.pth"));
        var transformers = new Dictionary<string, ScaleTransformer> { ["mvar"] = ScaleTransformer.Load(Config, Fixtures.Parity("mvar.pth")) };
        if (bothArchs) transformers["var"] = ScaleTransformer.Load(Config.WithArch("var"), Fixtures.Parity("var.pth"));
        var models = new ServedModels(Config, tokenizer, transformers, classNames);
        var runner = new SamplerBatchRunner(models.Samplers);
        var app = await ServeApp.StartAsync(models, (settings ?? new ServeSettings()) with { Host = "127.0.0.1", Port = 0 },
            wrapRunner?.Invoke(runner) ?? runner);
        return new ServeTestServer(models, app);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.DisposeAsync();
        Models.Dispose();
    }
}

/// <summary>A runner that waits at a gate before each batch (to hold the worker busy in tests).</summary>
public sealed class GatedRunner(IBatchRunner inner) : IBatchRunner
{
    public readonly ManualResetEventSlim Gate = new(false);
    public readonly SemaphoreSlim Entered = new(0);

    public void Run(IReadOnlyList<GenerationJob> batch, CancellationToken stop)
    {
        Entered.Release();
        while (!Gate.Wait(10, stop)) stop.ThrowIfCancellationRequested();
        inner.Run(batch, stop);
    }
}
