using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Training;
using Mvar.Training.Distributed;
using Spectre.Console;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// <c>mvar train tokenizer|transformer</c>: training runs that save resumable checkpoints. Started by Open MPI's
/// mpirun (<c>mpirun -np N mvar train ...</c>) they train data-parallel over the N ranks; rank 0 prints and writes.
/// </summary>
public static class TrainCommand
{
    public const int ExitInterrupted = 130;

    public static Command Create()
    {
        var cmd = new Command("train", "Train a tokenizer (VQ-VAE) or a VAR/MVAR transformer");
        cmd.Subcommands.Add(Tokenizer());
        cmd.Subcommands.Add(TransformerCmd());
        cmd.Subcommands.Add(TrainClassifierCommand.Create());
        return cmd;
    }

    sealed class Common
    {
        public readonly Option<string?> Config = new("--config")
        {
            Description =
            "configuration JSON: tokenizer, [transformer], [training] sections (not needed with --resume)"
        };
        public readonly Option<string?> Data = new("--data")
        {
            Description =
            "fashion-mnist[:t10k], idx:DIR[:split], or an image folder with one sub-folder per class (from the checkpoint with --resume)"
        };
        public readonly Option<string?> Out = new("--out")
        {
            Description =
            "output folder: checkpoint.pth, model.pth, metrics.csv, TensorBoard events, images"
        };
        public readonly Option<string?> Resume = new("--resume")
        {
            Description =
            "continue the run saved in this folder (exactly: same losses as an uninterrupted run)"
        };
        public readonly Option<long?> StopAfter = new("--stop-after") { Description = "save and stop once this many steps (in total) are done" };
        public readonly Option<long?> SnapshotEvery = new("--snapshot-every")
        {
            Description =
            "keep the weights every N steps and after the last as OUT/snapshots/model-stepNNNNNN.pth, listed with the training clocks in snapshots.csv "
            + "(for learning curves)"
        };
        public readonly Option<string> BadFiles = new("--bad-files")
        {
            Description = "unreadable images: stop (default) or skip (reported once each)",
            DefaultValueFactory = _ => "stop"
        };
        public readonly Option<string?> DataCache = new("--data-cache")
        {
            Description =
            "folder for the uncompressed copies of .gz data files (default: the system temp folder)"
        };

        public readonly Option<int?> Limit = new("--limit") { Description = "use only the first N images of the data set (quick runs)" };
        public readonly Option<bool> Mpi = new("--mpi")
        {
            Description =
            "require a data-parallel run started by Open MPI's mpirun (without it, mpirun is detected from the environment)"
        };

        public long SnapshotEveryOf(ParseResult p) => p.GetValue(SnapshotEvery) switch
        {
            null => 0,
            long n when n >= 1 => n,
            long n => throw new MvarException($"--snapshot-every must be at least 1 step, got {n}"),
        };

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Config, Data, Out, Resume, StopAfter, SnapshotEvery, BadFiles, DataCache, Limit,
            Mpi }) c.Options.Add(o);
        }

        /// <summary>
        /// Runs <paramref name="body"/> with the process's communicator. Under MPI an error on one rank prints its line and
        /// aborts the whole job (the other ranks may be waiting for it); a normal end finalises MPI.
        /// </summary>
        public Func<ParseResult, int> WithRanks(Func<ParseResult, ICommunicator, int> body) => p =>
        {
            var comm = Communicators.FromEnvironment(p.GetValue(Mpi));
            if (comm is not MpiCommunicator) return body(p, comm);
            int threads = Communicators.ThreadsPerRank(comm);
            set_num_threads(threads);
            if (comm.Rank == 0) Console.WriteLine($"MPI: {comm.Size} ranks, {threads} torch thread(s) per rank");
            int code;
            try { code = body(p, comm); }
            catch (Exception e)
            {
                code = Cli.Report(e);
                Console.Error.Flush();
                comm.Abort(code);
                return code;
            }
            comm.Dispose();
            return code;
        };

        public IImageDataset OpenData(ParseResult p, string spec, Dictionary<string, string> info)
        {
            var d = DataSets.Open(spec, p.GetValue(DataCache));
            int? limit = p.GetValue(Limit) ?? (info.TryGetValue("limit", out var l) ? int.Parse(l, CultureInfo.InvariantCulture) : null);
            if (limit is int n)
            {
                if (n < 1) throw new MvarException($"--limit must be positive, got {n}");
                info["limit"] = n.ToString(CultureInfo.InvariantCulture);
                return new Subset(d, n);
            }
            return d;
        }

        public BadFilePolicy Policy(ParseResult p) => p.GetValue(BadFiles) switch
        {
            "stop" => BadFilePolicy.Stop,
            "skip" => BadFilePolicy.Skip,
            var v => throw new MvarException($"--bad-files must be stop or skip, got {v}"),
        };

        /// <summary>The run folder, ready for the run (<see cref="TrainingRun.PrepareFolder"/>).</summary>
        public static void PrepareFolder(string dir, ICommunicator comm) =>
            TrainingRun.PrepareFolder(dir, comm, note => Console.Error.WriteLine($"note: {note}"));

        /// <summary>(config, out dir, data spec, stored info) for a fresh or resumed run.</summary>
        public (ModelConfig config, string outDir, string data, Dictionary<string, string> info) Resolve(ParseResult p, string kind)
        {
            string? resume = p.GetValue(Resume);
            if (resume != null)
            {
                var (config, info, k) = Trainer.ReadHeader(resume);
                if (k != kind) throw new MvarException($"{resume} holds a {k} training run, not a {kind} one");
                string? outDir = p.GetValue(Out);
                if (outDir != null && Path.GetFullPath(outDir) != Path.GetFullPath(resume))
                    throw new MvarException("--out and --resume name different folders; a resumed run continues in its own folder");
                if (p.GetValue(Config) != null) Console.Error.WriteLine("note: --config is ignored with --resume (the run's saved config is used)");
                return (config, resume, p.GetValue(Data) ?? info.GetValueOrDefault("data") ?? throw new MvarException("give --data"), info);
            }
            string cfg = p.GetValue(Config) ?? throw new MvarException("give --config FILE (or --resume DIR)");
            string data = p.GetValue(Data) ?? throw new MvarException("give --data (fashion-mnist, idx:DIR or an image folder)");
            string o = p.GetValue(Out) ?? throw new MvarException("give --out DIR");
            if (File.Exists(Path.Combine(o, Trainer.CheckpointFile)))
                throw new MvarException($"{o} already holds a training run; continue it with --resume {o} or choose another --out");
            var c = ModelConfig.Load(cfg);
            c = c with { Training = c.Training ?? new TrainingConfig() };
            return (c, o, data, new Dictionary<string, string>());
        }

        /// <summary>
        /// <paramref name="run"/> with the common options filled in, after the checks that name them (the library's
        /// own checks name its settings): a new run needs --config, --data and --out and a folder without a run;
        /// a resumed one continues in its own folder.
        /// </summary>
        public T Settings<T>(ParseResult p, T run) where T : TrainingRunSettings
        {
            string? resume = p.GetValue(Resume), outDir = p.GetValue(Out);
            if (resume != null)
            {
                if (outDir != null && Path.GetFullPath(outDir) != Path.GetFullPath(resume))
                    throw new MvarException("--out and --resume name different folders; a resumed run continues in its own folder");
                if (p.GetValue(Config) != null) Console.Error.WriteLine("note: --config is ignored with --resume (the run's saved config is used)");
            }
            else
            {
                if (p.GetValue(Config) == null) throw new MvarException("give --config FILE (or --resume DIR)");
                if (p.GetValue(Data) == null) throw new MvarException("give --data (fashion-mnist, idx:DIR or an image folder)");
                if (outDir == null) throw new MvarException("give --out DIR");
                if (File.Exists(Path.Combine(outDir, Trainer.CheckpointFile)))
                    throw new MvarException($"{outDir} already holds a training run; continue it with --resume {outDir} or choose another --out");
            }
            if (p.GetValue(Limit) is < 1 and var n) throw new MvarException($"--limit must be positive, got {n}");
            return (T)(run with
            {
                RunDir = resume ?? outDir!,
                Resume = resume != null,
                ConfigFile = p.GetValue(Config),
                Data = p.GetValue(Data),
                DataCache = p.GetValue(DataCache),
                Limit = p.GetValue(Limit),
                BadFiles = Policy(p),
            });
        }

        /// <summary><paramref name="hooks"/> with the notes and warnings of the set-up going to stderr (notes on rank 0 only).</summary>
        public static TrainingRunHooks Hooks(ICommunicator comm, TrainingRunHooks hooks) => hooks with
        {
            Note = comm.Rank == 0 ? note => Console.Error.WriteLine($"note: {note}") : null,
            Warn = Warn,
        };
    }

    // ---------------------------------------------------------------- tokenizer

    static Command Tokenizer()
    {
        var common = new Common();
        var initFrom = new Option<string?>("--init-from")
        {
            Description =
            "start from this tokenizer checkpoint (VQ-VAE state dict) instead of random weights"
        };
        var lpipsVgg = new Option<string?>("--lpips-vgg") { Description = "with training.lpips_weight: torchvision's VGG16 weights (vgg16-*.pth)" };
        var lpipsLin = new Option<string?>("--lpips-lin")
        {
            Description =
            "with training.lpips_weight: LPIPS's linear-layer weights (vgg.pth of the LPIPS repository)"
        };
        var cmd = new Command("tokenizer",
            "Train the multi-scale VQ-VAE tokenizer (reconstruction + VQ loss; VQGAN's adversarial loss with training.disc_weight)") { initFrom, lpipsVgg,
            lpipsLin };
        common.AddTo(cmd);
        return cmd.WithAction(common.WithRanks((p, comm) =>
        {
            Mvar.TorchRuntime.ReturnFreedTensorsToTheSystem();   // training frees GBs of activations and gradients every step
            Action<string> say = comm.Rank == 0 ? Console.WriteLine : _ => { };
            var (config, outDir, dataSpec, info) = common.Resolve(p, "tokenizer");
            int localBatch = Math.Max(1, (config.Training ?? new TrainingConfig()).BatchSize / comm.Size);
            TrainingMemory.Require(TrainingMemory.Tokenizer(config, localBatch), "tokenizer", localBatch);
            Common.PrepareFolder(outDir, comm);
            var data = common.OpenData(p, dataSpec, info);
            var pre = Preprocess.Of(config);
            var batches = new ImageBatches(data, pre, common.Policy(p), Warn);
            VqVae vae;
            string? init = p.GetValue(common.Resume) == null ? p.GetValue(initFrom) : null;
            if (init != null) vae = VqVaeLoader.Load(config.Tokenizer, init);
            else { vae = new VqVae(config.Tokenizer); }
            using var _vae = vae;
            using var lpips = OpenLpips(config, p.GetValue(lpipsVgg) ?? info.GetValueOrDefault("lpips_vgg"),
                p.GetValue(lpipsLin) ?? info.GetValueOrDefault("lpips_lin"), info);
            using var trainer = new TokenizerTrainer(config, vae, batches, comm, lpips);
            foreach (var (k, v) in info) trainer.Info[k] = v;
            trainer.Info["data"] = DataSets.Absolute(dataSpec);
            if (p.GetValue(common.Resume) != null) trainer.Restore(outDir);
            else if (comm.Rank == 0) AtomicFile.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJson());

            var valIdx = Enumerable.Range(0, Math.Min(8, data.Count)).ToList();
            var val = batches.Load(valIdx, train: false) ?? throw new MvarException("none of the first validation images is readable");
            using var valImages = val.images.DetachFromDisposeScope();
            say($"tokenizer: {vae.ParameterCount():N0} parameters, {data.Count} images ({dataSpec}), {trainer.Order.ItersPerEpoch} steps/epoch, "
                + $"{trainer.TotalSteps} steps" +
                              (trainer.NextStep > 0 ? $", resuming at step {trainer.NextStep}" : ""));
            int code = RunLoop(trainer, outDir, p.GetValue(common.StopAfter), common.SnapshotEveryOf(p),
                epochImage: ("reconstructions", e =>
                {
                    string png = Path.Combine(outDir, $"recon-epoch{e + 1:D3}.png");
                    trainer.SaveReconstructions(valImages, png);
                    return png;
                }
            ),
                describe: m => $"rec {Get(m, TokenizerTrainer.Reconstruction):F4} vq {Get(m, TokenizerTrainer.Vq):F4}" +
                               (m.ContainsKey(TokenizerTrainer.DiscLoss)
                                   ? $" d {Get(m, TokenizerTrainer.DiscLoss):F3} g {Get(m, TokenizerTrainer.GenLoss):F3}"
                                     + $" lambda {Get(m, TokenizerTrainer.Lambda):g3}" : "") +
                               (m.ContainsKey(TokenizerTrainer.Perceptual) ? $" lpips {Get(m, TokenizerTrainer.Perceptual):F4}" : "") +
                               $" usage {Get(m, TokenizerTrainer.UsageAll):F1}% [" +
                               string.Join(" ", Enumerable.Range(0, vae.PatchNums.Length).Select(si => $"{Get(m, TokenizerTrainer.Usage(si)):F0}")) + "]");
            return code;
        }));
    }

    /// <summary>The LPIPS network when training.lpips_weight asks for it and the images are large enough (else null, with a note).</summary>
    static Mvar.Training.Adversarial.Lpips? OpenLpips(ModelConfig config, string? vgg, string? lin, Dictionary<string, string> info)
    {
        if (config.Training!.LpipsWeight <= 0) return null;
        if (config.Tokenizer.ImageSize < Mvar.Training.Adversarial.Lpips.MinImageSize)
        {
            Console.Error.WriteLine($"note: training.lpips_weight is ignored below {Mvar.Training.Adversarial.Lpips.MinImageSize} px (the images are "
                + $"{config.Tokenizer.ImageSize} px)");
            return null;
        }
        if (vgg is null
            || lin is null) throw new
            MvarException("training.lpips_weight is set: give --lpips-vgg (torchvision's VGG16 .pth) and --lpips-lin (LPIPS's vgg.pth)");
        info["lpips_vgg"] = Path.GetFullPath(vgg); info["lpips_lin"] = Path.GetFullPath(lin);
        return Mvar.Training.Adversarial.Lpips.Load(vgg, lin);
    }

    // ---------------------------------------------------------------- transformer

    static Command TransformerCmd()
    {
        var common = new Common();
        var arch = new Option<string?>("--arch") { Description = "var or mvar (overrides the config's transformer.arch)" };
        var vae = new Option<string?>("--vae") { Description = "the tokenizer checkpoint (VQ-VAE state dict) that makes the token maps" };
        var cache = new Option<string?>("--cache") { Description = "token-map cache file (computed once; default OUT/tokens.cache)" };
        var initFrom = new Option<string?>("--init-from")
        {
            Description = "start from these transformer weights (e.g. a VAR checkpoint to train an MVAR; official --finetune_from_var)",
        };
        var initKey = new Option<string?>("--init-key") { Description = "key path of the state dict inside the --init-from checkpoint" };
        var varMask = new Option<bool>("--var-mask-in-small-group")
        {
            Description = "with --init-from a VAR checkpoint: use VAR's block-causal mask in MVAR's small-scale group, as the official strict load does",
        };
        var cmd = new Command("transformer", "Train a VAR or MVAR transformer on the token maps of a data set") { arch, vae, cache, initFrom, initKey,
            varMask };
        common.AddTo(cmd);
        return cmd.WithAction(common.WithRanks((p, comm) =>
        {
            Mvar.TorchRuntime.ReturnFreedTensorsToTheSystem();   // training frees GBs of activations and gradients every step
            Action<string> say = comm.Rank == 0 ? Console.WriteLine : _ => { };
            if (p.GetValue(common.Resume) == null && p.GetValue(vae) == null) throw new MvarException("give --vae (the tokenizer checkpoint)");
            var settings = common.Settings(p, new TransformerRunSettings
            {
                RunDir = "",
                Arch = p.GetValue(arch) is string a ? Architectures.Parse(a, "--arch") : null,
                Vae = p.GetValue(vae), Cache = p.GetValue(cache), InitFrom = p.GetValue(initFrom), InitKey = p.GetValue(initKey),
                VarMaskInSmallGroup = p.GetValue(varMask),
            });
            using var run = TransformerRun.Open(settings, comm, Common.Hooks(comm, new TrainingRunHooks
            {
                BuildTokenCache = shared =>
                {
                    say($"tokenizing {shared.Count} images into {shared.Path} ...");
                    return ProgressDisplay.Run("tokenizing", "images", shared.Count, plainEvery: 1024, d => shared.Build(d));
                },
                FoundTokenCache = (shared, cached) => say($"token maps: {shared.Path} ({cached.Count} images, cached)"),
            }));
            var (trainer, config, outDir) = (run.Trainer, run.Config, run.RunDir);
            if (trainer.NeverTrainedWarning is string w && comm.Rank == 0) Console.Error.WriteLine($"warning: {w}");

            say($"{config.Transformer!.Arch.Name()}: {run.Model.ParameterCount():N0} parameters, {run.Tokens.Count} images ({run.DataSpec}), "
                + $"{trainer.Order.ItersPerEpoch} steps/epoch, {trainer.TotalSteps} steps, lr {config.Training!.LearningRate:g3}"
                + (trainer.NextStep > 0 ? $", resuming at step {trainer.NextStep}" : ""));
            int K = run.Layout.Count;
            return RunLoop(trainer, outDir, p.GetValue(common.StopAfter), common.SnapshotEveryOf(p),
                epochImage: ("samples", e =>
                {
                    string png = Path.Combine(outDir, $"samples-epoch{e + 1:D3}.png");
                    trainer.SaveSamples(run.Tokenizer, png);
                    return png;
                }
            ),
                describe: m => $"Lm {Get(m, TransformerTrainer.MeanLoss):F3} acc {Get(m, TransformerTrainer.MeanAccuracy):F1}% [" +
                               string.Join(" ", Enumerable.Range(0, K).Where(si => m.ContainsKey(TransformerTrainer.ScaleLoss(si)))
                                   .Select(si => $"s{si} {m[TransformerTrainer.ScaleLoss(si)]:F2}/{m[TransformerTrainer.ScaleAccuracy(si)]:F0}%")) + "]");
        }));
    }

    // ---------------------------------------------------------------- shared loop

    static double Get(IReadOnlyDictionary<string, double> m, string k) => m.TryGetValue(k, out var v) ? v : double.NaN;
    static void Warn(string message) => Console.Error.WriteLine($"warning: {message}");

    static int RunLoop(Trainer trainer, string outDir, long? stopAfter, long snapshotEvery, (string, Func<int, string>)? epochImage,
        Func<IReadOnlyDictionary<string, double>, string> describe)
    {
        bool stop = false;
        ConsoleCancelEventHandler handler = (_, e) =>
        {
            if (stop) return;        // a second Ctrl-C kills the process
            e.Cancel = true; stop = true;
            if (trainer.IsRoot) Console.Error.WriteLine("interrupt: saving a checkpoint after the current step ...");
        };
        Console.CancelKeyPress += handler;
        var sw = Stopwatch.StartNew();
        long startStep = trainer.NextStep;
        try
        {
            RunOutcome Train(ProgressDisplay? display) => TrainingRun.Run(trainer, outDir, new RunOptions
            {
                StopRequested = () => stop,
                StopAfter = stopAfter,
                SnapshotEvery = snapshotEvery,
                EpochImage = epochImage,
                OnStep = display == null ? null : (step, m) =>
                    display.Report(new WorkProgress(step + 1, trainer.TotalSteps, m.TryGetValue(Trainer.Loss, out var l) && !double.IsNaN(l) ? l : null)),
                OnLog = (step, m) =>
                {
                    long done = trainer.NextStep - startStep;
                    double rate = done / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
                    var eta = TimeSpan.FromSeconds((trainer.TotalSteps - trainer.NextStep) / Math.Max(rate, 1e-9));
                    display!.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"step {step + 1}/{trainer.TotalSteps} ep {trainer.Epoch} loss {Get(m, Trainer.Loss):F4} {describe(m)} "
                        + $"lr {Get(m, Trainer.LearningRate):g3} {rate:F2} it/s ETA {eta:hh\\:mm\\:ss}"));
                },
            });
            // rank 0 shows the steps (a live bar in a terminal; redirected, the log lines above are the progress)
            var outcome = trainer.IsRoot
                ? ProgressDisplay.Run(trainer.Kind, "steps", trainer.TotalSteps, plainEvery: 0, Train, start: startStep)
                : Train(null);
            if (!trainer.IsRoot) return outcome == RunOutcome.Interrupted ? ExitInterrupted : 0;
            TryPlot(outDir);
            if (trainer.Comm.Size > 1)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"data-parallel: {trainer.Comm.Size} ranks x {trainer.LocalBatchSize} images; gradient all-reduce "
                        + $"{trainer.AllReduceTime.TotalMilliseconds / Math.Max(1, trainer.NextStep - startStep):F1} ms/step"));
            switch (outcome)
            {
                case RunOutcome.Interrupted:
                    Console.Error.WriteLine($"interrupted: saved step {trainer.NextStep} in {outDir}; continue with --resume {outDir}");
                    return ExitInterrupted;
                case RunOutcome.StoppedAtStep:
                    Console.WriteLine($"stopped after step {trainer.NextStep}: saved in {outDir}; continue with --resume {outDir}");
                    return 0;
                default:
                    Console.WriteLine($"done: {trainer.NextStep} steps in {sw.Elapsed:hh\\:mm\\:ss}; weights {Path.Combine(outDir, Trainer.WeightsFile)}");
                    return 0;
            }
        }
        finally { Console.CancelKeyPress -= handler; }
    }

    static void TryPlot(string outDir)
    {
        string csv = Path.Combine(outDir, TrainingRun.MetricsFile);
        try { LossCurve.Write(csv, Path.Combine(outDir, "loss.png")); }
        catch (Exception e) when (e is not OutOfMemoryException) { Console.Error.WriteLine($"warning: could not draw the loss curve: {e.Message}"); }
    }
}
