using System.CommandLine;
using Mvar.Cli.Serving;
using Mvar.Config;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar serve</c>: an HTTP API and a web page that show images forming scale by scale.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var models = new ModelOptions();
        var host = new Option<string>("--host")
        {
            Description = "address to listen on (loopback by default; 0.0.0.0 exposes the server)",
            DefaultValueFactory = _ => "127.0.0.1"
        };
        var port = new Option<int>("--port") { Description = "port (0: a free one, printed at start)", DefaultValueFactory = _ => 8080 };
        var threads = new Option<int>("--threads")
        {
            Description = "libtorch threads of the one generation worker (default: the CPU count)",
            DefaultValueFactory = _ => Environment.ProcessorCount
        };
        var queue = new Option<int>("--queue")
        {
            Description = "requests that may wait; more are answered 429 with Retry-After",
            DefaultValueFactory = _ => 32
        };
        var maxBatch = new Option<int>("--max-batch")
        {
            Description =
            "most samples per batch: waiting requests with the same arch/cfg/top-k/top-p share one forward pass per scale (1: no batching)",
            DefaultValueFactory = _ => 16
        };
        var maxCount = new Option<int>("--max-count") { Description = "most samples one request may ask for", DefaultValueFactory = _ => 16 };
        var timeout = new Option<double>("--timeout")
        {
            Description = "seconds a request may take, queue wait included (then 504)",
            DefaultValueFactory = _ => 120
        };
        var cmd = new Command("serve", "Serve an HTTP API and a web page that show samples forming scale by scale")
        {
            host, port, threads, queue, maxBatch, maxCount, timeout,
        };
        models.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            int nThreads = p.GetValue(threads);
            if (nThreads < 1) throw new MvarException($"--threads must be at least 1, got {nThreads}");
            if (p.GetValue(maxCount) < 1) throw new MvarException($"--max-count must be at least 1, got {p.GetValue(maxCount)}");
            if (!(p.GetValue(timeout) > 0)) throw new MvarException($"--timeout must be a positive number of seconds, got {p.GetValue(timeout)}");
            var settings = new ServeSettings
            {
                Host = p.GetValue(host)!, Port = p.GetValue(port), QueueCapacity = p.GetValue(queue), MaxBatch = p.GetValue(maxBatch),
                MaxSamples = p.GetValue(maxCount), Timeout = TimeSpan.FromSeconds(p.GetValue(timeout)),
            };
            var config = models.ResolveConfig(p);
            set_num_threads(nThreads);
            using var _ = no_grad();
            using var served = Load(models, p, config);
            var app = ServeApp.StartAsync(served, settings, log: Console.Error).GetAwaiter().GetResult();
            Console.Error.WriteLine($"mvar: serving {string.Join(" and ", served.Transformers.Keys)} ({served.ImageSize}x{served.ImageSize}, "
                + $"{served.NumClasses} classes, "
                + $"{nThreads} thread(s), batches of up to {settings.MaxBatch} samples) on {app.Address} (Ctrl-C stops)");
            app.WaitForShutdownAsync().GetAwaiter().GetResult();
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Console.Error.WriteLine("mvar: server stopped");
            return 0;
        });
    }

    /// <summary>
    /// A shipped --preset without --model and --arch serves every architecture it ships (the request's "arch"
    /// chooses); otherwise the one transformer of --model / --arch.
    /// </summary>
    static ServedModels Load(ModelOptions models, ParseResult p, ModelConfig config)
    {
        string? preset = p.GetValue(models.Preset);
        string[]? names = config.Transformer!.ClassNames;
        var shipped = ShippedModel.Of(preset);
        if (shipped == null || p.GetValue(models.Model) != null || p.GetValue(models.Arch) != null)
        {
            var (tokenizer, transformer) = models.Load(p, config);
            return new ServedModels(config, tokenizer, new Dictionary<string, ScaleTransformer> { [config.Transformer.Arch.Name()] = transformer }, names);
        }
        var configured = config.Transformer.Arch;
        var archs = Enum.GetValues<Architecture>().OrderBy(a => a != configured)   // the configuration's first
            .Where(a => File.Exists(shipped.TransformerPath(a))).ToArray();
        if (archs.Length == 0) throw new CheckpointException($"model checkpoint not found: {shipped.TransformerPath(config.Transformer.Arch)}");
        string vae = ModelOptions.VaePath(p.GetValue(models.Vae), preset);
        if (!File.Exists(vae)) throw new CheckpointException($"tokenizer checkpoint not found: {vae}");
        var loaded = new Dictionary<string, ScaleTransformer>();
        var vqvae = VqVaeLoader.Load(config.Tokenizer, vae);
        try
        {
            foreach (var arch in archs) loaded[arch.Name()] = ScaleTransformer.Load(config.WithArch(arch), shipped.TransformerPath(arch),
                p.GetValue(models.Key));
            return new ServedModels(config, vqvae, loaded, names);
        }
        catch
        {
            foreach (var t in loaded.Values) t.Dispose();
            vqvae.Dispose();
            throw;
        }
    }
}
