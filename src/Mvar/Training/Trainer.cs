using System.Text.Json;
using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using Mvar.Training.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>The loss of step <see cref="Step"/> is NaN or infinite: the run stops without saving.</summary>
public sealed class NonFiniteLossException(long step, double loss)
    : MvarException($"non-finite loss ({loss}) at step {step}; stopping (the last checkpoint, if any, is kept unchanged)")
{
    public long Step { get; } = step;
}

/// <summary>
/// What both trainers share: the seeded step-indexed data order, AdamW, the per-step generator, and checkpoints
/// holding everything a resumed run needs (weights, optimizer state, step, generator state, data order, config).
/// Every random draw of step g comes from a generator seeded by (seed, g), so resuming at g reproduces the
/// uninterrupted run exactly (same process settings, same thread count).
/// Data-parallel (<see cref="Comm"/> with several ranks): every rank holds the whole model and takes the contiguous
/// share <see cref="LocalBatchIndices"/> of each global batch (training.batch_size, split evenly); each rank's
/// per-sample mean loss gives gradients that are averaged over the ranks before clipping and the AdamW step, so N
/// ranks with batch B/N step like one process with batch B. Every rank draws the step's random numbers for the whole
/// global batch from the same (seed, step) generator and keeps its own rows, so the draws a sample gets do not depend
/// on the rank count. Only rank 0 writes files.
/// </summary>
public abstract class Trainer : IDisposable
{
    public const string CheckpointFile = "checkpoint.pth", WeightsFile = "model.pth";

    /// <summary>
    /// Metric names both trainers log (metrics.csv columns, TensorBoard tags), defined once for the trainers, the CLI's
    /// progress lines, the loss plot and the benchmarks: <see cref="Loss"/> is the optimised total, in every step's metrics.
    /// </summary>
    public const string Loss = "loss", LearningRate = "lr", GradNorm = "grad_norm";

    public ModelConfig Config { get; }
    public TrainingConfig T { get; }
    public EpochOrder Order { get; }
    public long NextStep { get; protected set; }
    public long TotalSteps { get; }
    /// <summary>Free-form facts saved with the checkpoint (arch, data, tokenizer path...).</summary>
    public Dictionary<string, string> Info { get; } = new();
    protected readonly Generator Gen = new(0, CPU);
    protected abstract nn.Module Model { get; }
    protected abstract OptimizerHelper Optimizer { get; }
    public abstract string Kind { get; }
    /// <summary>The ranks this trainer runs with (<see cref="SingleProcess"/> by default).</summary>
    public ICommunicator Comm { get; }
    /// <summary>True on the rank that logs and writes checkpoints (rank 0).</summary>
    public bool IsRoot => Comm.Rank == 0;
    /// <summary>Samples of each batch on this rank (training.batch_size / ranks).</summary>
    public int LocalBatchSize => Order.BatchSize / Comm.Size;
    /// <summary>Where this rank's samples start within the global batch.</summary>
    public int LocalBatchOffset => Comm.Rank * LocalBatchSize;
    GradientAverager? grads;
    /// <summary>Averages the gradients over the ranks (built on first use; a no-op in one process).</summary>
    protected GradientAverager Grads => grads ??= new GradientAverager(Comm, Model.parameters().Where(p => p.requires_grad));
    /// <summary>Time spent all-reducing gradients so far.</summary>
    public TimeSpan AllReduceTime => grads?.ReduceTime ?? TimeSpan.Zero;

    /// <summary>Passes over the data this run makes (training.epochs; the tokenizer's tok_epochs when set).</summary>
    public int Epochs { get; }

    protected Trainer(ModelConfig config, int dataCount, bool tokenizer = false, ICommunicator? comm = null)
    {
        Config = config;
        T = config.Training ?? new TrainingConfig();
        Comm = comm ?? SingleProcess.Instance;
        Epochs = tokenizer ? T.TokEpochs ?? T.Epochs : T.Epochs;
        Order = new EpochOrder(dataCount, T.BatchSize, T.Seed);
        if (Order.BatchSize % Comm.Size != 0)
            throw new
                MvarException($"the batch size {Order.BatchSize} cannot be split evenly over {Comm.Size} ranks: make training.batch_size a multiple of "
                + $"the rank count");
        long full = (long)Epochs * Order.ItersPerEpoch;
        TotalSteps = T.MaxSteps > 0 ? Math.Min(T.MaxSteps, full) : full;
    }

    /// <summary>This rank's share of the samples of global step <paramref name="step"/>.</summary>
    public int[] LocalBatchIndices(long step) => Order.Batch(step).AsSpan(LocalBatchOffset, LocalBatchSize).ToArray();

    /// <summary>This rank's rows of a tensor drawn for the whole global batch (dimension 0).</summary>
    protected Tensor LocalRows(Tensor global) => Comm.Size == 1 ? global : global.narrow(0, LocalBatchOffset, LocalBatchSize);

    /// <summary>Makes every rank's weights and buffers rank 0's (call once before training; a no-op in one process).</summary>
    public void BroadcastFromRoot() => GradientAverager.BroadcastState(Comm, Model);

    /// <summary>
    /// The mean over all ranks' samples of a per-sample mean <paramref name="value"/> computed on <paramref name="count"/>
    /// local samples, and the global sample count (in one process: the arguments).
    /// </summary>
    protected (double mean, int total) GlobalMean(double value, int count)
    {
        if (Comm.Size == 1) return (value, count);
        Span<double> b = [count > 0 ? value * count : 0, count];
        Comm.AllReduceSum(b);
        return (b[1] > 0 ? b[0] / b[1] : double.NaN, (int)b[1]);
    }

    /// <summary>The element-wise sum of <paramref name="t"/> over the ranks (same dtype; exact for counts below 2^53).</summary>
    protected Tensor SumOverRanks(Tensor t)
    {
        if (Comm.Size == 1) return t;
        var d = t.to_type(ScalarType.Float64).contiguous().clone();
        Comm.AllReduceSum(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(d.bytes));
        return d.to_type(t.dtype);
    }

    /// <summary>
    /// The step's metrics averaged over the ranks, each rank weighted by its sample count (a metric missing or NaN on a
    /// rank has weight 0 there). Keys follow <see cref="MetricNames"/>, so every rank reduces the same buffer.
    /// </summary>
    protected Dictionary<string, double> ReduceMetrics(Dictionary<string, double> local, int count)
    {
        if (Comm.Size == 1) return local;
        var names = MetricNames;
        var b = new double[2 * names.Count];
        for (int i = 0; i < names.Count; i++)
            if (local.TryGetValue(names[i], out double v) && double.IsFinite(v) && count > 0) { b[2 * i] = v * count; b[2 * i + 1] = count; }
        Comm.AllReduceSum(b);
        var m = new Dictionary<string, double>();
        for (int i = 0; i < names.Count; i++)
            if (b[2 * i + 1] > 0) m[names[i]] = b[2 * i] / b[2 * i + 1];
        if (!m.ContainsKey(Loss)) m[Loss] = double.NaN;
        return m;
    }

    public int Epoch => (int)(NextStep / Order.ItersPerEpoch);

    /// <summary>
    /// Makes the next <see cref="Step"/> run global step <paramref name="step"/> (its data, schedule and random draws).
    /// For benchmarks that time chosen steps of a schedule; a training run only moves forward by Step and Restore.
    /// </summary>
    public void SeekStep(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "a global step is >= 0");
        NextStep = step;
    }

    /// <summary>Runs step <see cref="NextStep"/> and advances; returns its metrics ("loss" always present).</summary>
    public abstract Dictionary<string, double> Step();

    /// <summary>Analytic training FLOPs of the global steps [0, <paramref name="steps"/>) (null where not counted: the tokenizer).</summary>
    public virtual double? AnalyticFlops(long steps) => null;

    /// <summary>Metric names this trainer can report (the CSV columns).</summary>
    public abstract IReadOnlyList<string> MetricNames { get; }

    /// <summary>
    /// Drops every gradient (PyTorch's default <c>zero_grad(set_to_none=True)</c>): a parameter the step does not use
    /// (e.g. pos_start in an MVAR large-scale step) then has no gradient and AdamW leaves it and its state alone, as the
    /// official trainer does. Zeroed gradients would instead move it by its momentum, and differently after a resume.
    /// </summary>
    protected void ClearGrads() => Model.zero_grad(set_to_none: true);

    protected void ReseedForStep(long step) => Gen.manual_seed(EpochOrder.Mix(T.Seed, step, 0xC0DE));

    protected static (AdamW opt, List<Parameter> all) BuildAdamW(nn.Module model, double lr, double[] betas, bool officialNoWd)
    {
        List<(string, Parameter)> d, nd;
        if (officialNoWd) (d, nd) = ParamGroups.Split(model);
        else { d = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList(); nd = new(); }
        var groups = new List<AdamW.ParamGroup>();
        if (d.Count > 0) groups.Add(new AdamW.ParamGroup(d.Select(x => x.Item2), new AdamW.Options
        {
            LearningRate = lr, weight_decay = 0, beta1 = betas[0],
            beta2 = betas[1]
        }));
        if (nd.Count > 0) groups.Add(new AdamW.ParamGroup(nd.Select(x => x.Item2), new AdamW.Options
        {
            LearningRate = lr, weight_decay = 0, beta1 = betas[0],
            beta2 = betas[1]
        }));
        var opt = LeanAdamW.Create(groups, lr, betas[0], betas[1], 1e-8, 0);
        return (opt, d.Concat(nd).Select(x => x.Item2).ToList());
    }

    /// <summary>Sets lr on every group and weight decay on the decayed group (the first when it has decay).</summary>
    protected void SetLrWd(double lr, double wd, bool firstGroupDecays)
    {
        int i = 0;
        foreach (var g in Optimizer.ParamGroups.Cast<ParamGroup>())
        {
            g.LearningRate = lr;
            ((AdamW.Options)g.Options).weight_decay = (i == 0 && firstGroupDecays) ? wd : 0.0;
            i++;
        }
    }

    // ---------------------------------------------------------------- checkpoints

    /// <summary>Wall-clock seconds spent in <see cref="TrainingRun.Run"/> so far, over every resumed part of the run.</summary>
    public double TrainSeconds { get; set; }
    /// <summary>CPU seconds (all threads of this process, or of rank 0 under MPI) spent in the run so far.</summary>
    public double TrainCpuSeconds { get; set; }

    public const string SnapshotDir = "snapshots";
    public static string SnapshotFile(long steps) => $"model-step{steps:D6}.pth";

    /// <summary>
    /// Writes the weights after <see cref="NextStep"/> steps as <c>snapshots/model-stepNNNNNN.pth</c> (what
    /// <see cref="WeightsFile"/> would hold now), for learning curves; returns its path.
    /// </summary>
    public string SaveSnapshot(string dir)
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, SnapshotDir, SnapshotFile(NextStep));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Checkpoint.SaveStateDict(path, Weights());
        return path;
    }

    Dictionary<string, Tensor> Weights() => ExportedWeights().Where(kv => kv.Key != Transformer.ScaleTransformer.MaskBufferKey).ToDictionary();

    /// <summary>Extra state of a trainer kind (tensors, numbers, strings).</summary>
    protected virtual Dictionary<string, object?> ExtraState() => new();
    protected virtual void RestoreExtra(Dictionary<object, object?> extra) { }

    /// <summary>Writes the checkpoint (atomically: temporary file + rename) and the plain weights file beside it.</summary>
    public void Save(string dir)
    {
        using var scope = NewDisposeScope();
        var sd = Model.state_dict();
        var optBytes = OptimizerBytes(Optimizer);
        var root = new Dictionary<string, object?>
        {
            ["format"] = "mvar-train-1",
            ["kind"] = Kind,
            ["step"] = NextStep,
            ["epoch"] = (long)Epoch,
            ["iters_per_epoch"] = (long)Order.ItersPerEpoch,
            ["total_steps"] = TotalSteps,
            ["config"] = Config.ToJson(),
            ["info"] = JsonSerializer.Serialize(Info),
            ["model"] = sd.ToDictionary(kv => kv.Key, kv => (object?)kv.Value),
            ["optimizer"] = optBytes,
            ["rng"] = Gen.get_state(),
            ["data_order"] = tensor(Order.Permutation(Epoch).Select(x => (long)x).ToArray()),
            ["extra"] = ExtraState(),
            ["train_seconds"] = TrainSeconds,
            ["train_cpu_seconds"] = TrainCpuSeconds,
        };
        TorchSave.Save(Path.Combine(dir, CheckpointFile), root);
        Checkpoint.SaveStateDict(Path.Combine(dir, WeightsFile), Weights());
    }

    /// <summary>The weights written to <see cref="WeightsFile"/> (the model's own by default).</summary>
    protected virtual IReadOnlyDictionary<string, Tensor> ExportedWeights() => Model.state_dict();

    /// <summary>An optimizer's state as a byte tensor (TorchSharp's own format), for a checkpoint.</summary>
    protected static Tensor OptimizerBytes(OptimizerHelper optimizer)
    {
        var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) optimizer.save_state_dict(w);
        return tensor(ms.ToArray(), dtype: ScalarType.Byte);
    }

    protected static void LoadOptimizerBytes(OptimizerHelper optimizer, Tensor bytes)
    {
        using var r = new BinaryReader(new MemoryStream(bytes.data<byte>().ToArray()));
        optimizer.load_state_dict(r);
    }

    /// <summary>The config stored in a training checkpoint (to rebuild the model before <see cref="Restore"/>).</summary>
    public static (ModelConfig config, Dictionary<string, string> info, string kind) ReadHeader(string dir)
    {
        var root = LoadRoot(dir, out string path);
        var config = ModelConfig.Parse(CheckpointFields.String(root, "config", path), path + ":config");
        Dictionary<string, string> info = new();
        CheckpointFields.Restoring("info", path, () => info = JsonSerializer.Deserialize<Dictionary<string, string>>(CheckpointFields.String(root, "info",
            path)) ?? new());
        return (config, info, CheckpointFields.String(root, "kind", path));
    }

    static Dictionary<object, object?> LoadRoot(string dir, out string path)
    {
        path = Path.Combine(dir, CheckpointFile);
        if (!File.Exists(path)) throw new MvarException($"no training checkpoint to resume: {path} not found");
        FileKinds.RequireRegularFile(path, "training checkpoint", m => new CheckpointException(m));
        if (TorchCheckpoint.Load(path) is not Dictionary<object, object?> root || root.GetValueOrDefault("format") is not "mvar-train-1")
            throw new CheckpointException($"{path}: not an mvar training checkpoint");
        return root;
    }

    /// <summary>Restores weights, optimizer state, step and generator from <paramref name="dir"/>.</summary>
    public void Restore(string dir)
    {
        var root = LoadRoot(dir, out string path);
        string kind = CheckpointFields.String(root, "kind", path);
        if (kind != Kind) throw new CheckpointException($"{path} is a {kind} checkpoint, not {Kind}");
        long iters = CheckpointFields.Int64(root, "iters_per_epoch", path, min: 1);
        if (iters != Order.ItersPerEpoch)
            throw new
                CheckpointException($"{path}: {iters} iterations per epoch, but the data and batch size now give {Order.ItersPerEpoch}: the data set changed");
        long step = CheckpointFields.Int64(root, "step", path, max: TotalSteps);
        var order = CheckpointFields.Tensor(root, "data_order", path, ScalarType.Int64).data<long>().ToArray();
        var sd = StateDicts.Select(CheckpointFields.Required(root, "model", path), null, path + ":model");
        using (no_grad()) StateDictLoader.LoadInto(Model, sd, path, k => k == Transformer.ScaleTransformer.MaskBufferKey);
        CheckpointFields.Restoring("optimizer", path, () => LoadOptimizerBytes(Optimizer, CheckpointFields.Tensor(root, "optimizer", path, ScalarType.Byte)));
        NextStep = step;
        var rng = CheckpointFields.Tensor(root, "rng", path, ScalarType.Byte);
        using (var current = Gen.get_state())   // libtorch aborts the process on a state of another size: checked here
            if (rng.numel() != current.numel())
                throw new CheckpointException($"{path}: the field 'rng' holds {rng.numel()} bytes, a generator state has {current.numel()}");
        CheckpointFields.Restoring("rng", path, () => Gen.set_state(rng));
        if (!order.SequenceEqual(Order.Permutation(Epoch).Select(x => (long)x)))
            throw new CheckpointException($"{path}: the saved data order differs from this run's (different data set or seed)");
        if (root.GetValueOrDefault("extra") is Dictionary<object, object?> extra) RestoreExtra(extra);
        // absent in checkpoints written before the clocks existed: the resumed part is then all that is counted
        TrainSeconds = root.GetValueOrDefault("train_seconds") is double ws ? ws : 0;
        TrainCpuSeconds = root.GetValueOrDefault("train_cpu_seconds") is double cs ? cs : 0;
        foreach (var t in sd.Values) t.Dispose();
    }

    public virtual void Dispose()
    {
        grads?.Dispose();
        Optimizer.Dispose();
        Gen.Dispose();
        GC.SuppressFinalize(this);
    }
}
