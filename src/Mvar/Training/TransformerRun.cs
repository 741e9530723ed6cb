using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Tokens;
using Mvar.Training.Distributed;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// A transformer run set up and ready for <see cref="TrainingRun.Run"/>: the tokenizer, the token maps of the data set
/// (from the shared cache, built where missing), the model (random, from initial weights, or as the resumed run saved
/// it) and its trainer, with the run's choices recorded in the checkpoint info and, for a new run, config.json written.
/// The set-up lives here rather than in the CLI so that every way of starting a run (command, tests, notebooks)
/// resumes in the same way. Disposing releases the trainer and both networks.
/// </summary>
public sealed class TransformerRun : IDisposable
{
    public const string Kind = "transformer";

    /// <summary>The run's configuration (the saved one when resumed, with the architecture chosen).</summary>
    public required ModelConfig Config { get; init; }
    public required string RunDir { get; init; }
    /// <summary>The data set specification as given or recorded.</summary>
    public required string DataSpec { get; init; }
    public required VqVae Tokenizer { get; init; }
    public required ScaleTransformer Model { get; init; }
    public required TransformerTrainer Trainer { get; init; }
    public required ITokenData Tokens { get; init; }
    /// <summary>The scales of the token maps.</summary>
    public required ScaleLayout Layout { get; init; }

    TransformerRun() { }

    /// <summary>Sets up the run that <paramref name="s"/> starts or resumes on this rank of <paramref name="comm"/>.</summary>
    /// <exception cref="MvarException">a setting, a recorded value or a file is missing or does not fit</exception>
    public static TransformerRun Open(TransformerRunSettings s, ICommunicator comm, TrainingRunHooks? hooks = null)
    {
        hooks ??= new TrainingRunHooks();
        var (config, dataSpec, info) = RunStart.Resolve(s, Kind);
        if (config.Transformer == null) throw new MvarException("the configuration has no transformer section");
        var saved = TransformerRunInfo.Read(info, s.RunDir);
        if ((s.Arch ?? saved.Arch) is { } arch) config = config.WithArch(arch);
        string vaePath = s.Vae ?? saved.Vae ?? throw new MvarException(s.Resume
            ? $"{s.RunDir} records no tokenizer checkpoint: name one (the Vae setting)"
            : "a transformer run needs the tokenizer checkpoint that makes its token maps (the Vae setting)");
        int localBatch = RunStart.LocalBatch(config, comm.Size);
        TrainingMemory.Require(TrainingMemory.Transformer(config, localBatch), Kind, localBatch);
        TrainingRun.PrepareFolder(s.RunDir, comm, hooks.Note);
        var data = RunStart.OpenData(s, dataSpec, info);
        var t = config.Transformer!;
        if (data.NumClasses > t.NumClasses)
            throw new MvarException($"the data set has {data.NumClasses} classes but transformer.num_classes is {t.NumClasses}");
        var pre = Preprocess.Of(config);
        var batches = new ImageBatches(data, pre, s.BadFiles, hooks.Warn);

        var made = new List<IDisposable>();
        try
        {
            var tokenizer = Made(made, VqVaeLoader.Load(config.Tokenizer, vaePath));
            string cachePath = s.Cache ?? saved.Cache ?? Path.Combine(s.RunDir, TransformerRunInfo.DefaultCacheFile);
            var shared = new SharedTokenCache(cachePath, vaePath, tokenizer, batches, pre, config.Tokenizer);
            var tokens = shared.Open(comm,
                root => root && hooks.BuildTokenCache is { } show ? show(shared) : shared.Build(),
                cached => hooks.FoundTokenCache?.Invoke(shared, cached));

            var layout = new ScaleLayout(config.Tokenizer.PatchNums);
            bool varMask = s.VarMaskInSmallGroup || saved.VarMaskInSmallGroup;
            IAttentionPattern? pattern = varMask ? AttentionPatterns.For(t, layout, varMaskInSmallGroup: true) : null;
            var model = Made(made, ScaleTransformer.Create(config, pattern, initWeights: true, initGenerator: new Generator((ulong)config.Training!.Seed)));
            string? init = s.Resume ? null : s.InitFrom;   // a resumed run restores its own weights
            if (init != null) LoadInitialWeights(model, init, s.InitKey);
            var trainer = Made(made, new TransformerTrainer(config, model, tokenizer.Quantize, tokens, comm));
            foreach (var (k, v) in info) trainer.Info[k] = v;
            new TransformerRunInfo
            {
                Data = DataSets.Absolute(dataSpec), Arch = t.Arch, Vae = vaePath, Cache = cachePath, VarMaskInSmallGroup = varMask, InitFrom = init,
            }.WriteTo(trainer.Info, s.RunDir);
            if (s.Resume) trainer.Restore(s.RunDir);
            else if (comm.Rank == 0) AtomicFile.WriteAllText(Path.Combine(s.RunDir, "config.json"), config.ToJson());
            return new TransformerRun
            {
                Config = config, RunDir = s.RunDir, DataSpec = dataSpec, Tokenizer = tokenizer, Model = model, Trainer = trainer,
                Tokens = tokens, Layout = layout,
            };
        }
        catch
        {
            for (int i = made.Count - 1; i >= 0; i--) made[i].Dispose();
            throw;
        }
    }

    static T Made<T>(List<IDisposable> made, T x) where T : IDisposable
    {
        made.Add(x);
        return x;
    }

    static void LoadInitialWeights(ScaleTransformer model, string path, string? key)
    {
        var sd = Checkpoint.LoadStateDict(path, key);
        try { model.LoadStateDict(sd, path); }
        finally { foreach (var x in sd.Values) x.Dispose(); }
    }

    /// <summary>Releases the trainer, the model and the tokenizer (in that order).</summary>
    public void Dispose()
    {
        Trainer.Dispose();
        Model.Dispose();
        Tokenizer.Dispose();
    }
}
