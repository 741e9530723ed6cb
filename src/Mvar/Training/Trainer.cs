using System.Text.Json;
using Mvar.Config;
using Mvar.Data;
using Mvar.IO;
using TorchSharp;
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
/// </summary>
public abstract class Trainer : IDisposable
{
    public const string CheckpointFile = "checkpoint.pth", WeightsFile = "model.pth";

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

    /// <summary>Passes over the data this run makes (training.epochs; the tokenizer's tok_epochs when set).</summary>
    public int Epochs { get; }

    protected Trainer(ModelConfig config, int dataCount, bool tokenizer = false)
    {
        Config = config;
        T = config.Training ?? new TrainingConfig();
        Epochs = tokenizer ? T.TokEpochs ?? T.Epochs : T.Epochs;
        Order = new EpochOrder(dataCount, T.BatchSize, T.Seed);
        long full = (long)Epochs * Order.ItersPerEpoch;
        TotalSteps = T.MaxSteps > 0 ? Math.Min(T.MaxSteps, full) : full;
    }

    public int Epoch => (int)(NextStep / Order.ItersPerEpoch);

    /// <summary>Runs step <see cref="NextStep"/> and advances; returns its metrics ("loss" always present).</summary>
    public abstract Dictionary<string, double> Step();

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
        if (d.Count > 0) groups.Add(new AdamW.ParamGroup(d.Select(x => x.Item2), new AdamW.Options { LearningRate = lr, weight_decay = 0, beta1 = betas[0], beta2 = betas[1] }));
        if (nd.Count > 0) groups.Add(new AdamW.ParamGroup(nd.Select(x => x.Item2), new AdamW.Options { LearningRate = lr, weight_decay = 0, beta1 = betas[0], beta2 = betas[1] }));
        var opt = torch.optim.AdamW(groups, lr, betas[0], betas[1], 1e-8, 0);
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

    /// <summary>Extra state of a trainer kind (tensors, numbers, strings).</summary>
    protected virtual Dictionary<string, object?> ExtraState() => new();
    protected virtual void RestoreExtra(Dictionary<object, object?> extra) { }

    /// <summary>Writes the checkpoint (atomically: temporary file + rename) and the plain weights file beside it.</summary>
    public void Save(string dir)
    {
        using var scope = NewDisposeScope();
        var sd = Model.state_dict();
        var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) Optimizer.save_state_dict(w);
        var optBytes = tensor(ms.ToArray(), dtype: ScalarType.Byte);
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
        };
        TorchSave.Save(Path.Combine(dir, CheckpointFile), root);
        Checkpoint.SaveStateDict(Path.Combine(dir, WeightsFile), sd.Where(kv => kv.Key != Transformer.ScaleTransformer.MaskBufferKey).ToDictionary());
    }

    /// <summary>The config stored in a training checkpoint (to rebuild the model before <see cref="Restore"/>).</summary>
    public static (ModelConfig config, Dictionary<string, string> info, string kind) ReadHeader(string dir)
    {
        var root = LoadRoot(dir, out string path);
        var config = ModelConfig.Parse((string)root["config"]!, path + ":config");
        var info = JsonSerializer.Deserialize<Dictionary<string, string>>((string)root["info"]!) ?? new();
        return (config, info, (string)root["kind"]!);
    }

    static Dictionary<object, object?> LoadRoot(string dir, out string path)
    {
        path = Path.Combine(dir, CheckpointFile);
        if (!File.Exists(path)) throw new MvarException($"no training checkpoint to resume: {path} not found");
        if (TorchCheckpoint.Load(path) is not Dictionary<object, object?> root || root.GetValueOrDefault("format") is not "mvar-train-1")
            throw new CheckpointException($"{path}: not an mvar training checkpoint");
        return root;
    }

    /// <summary>Restores weights, optimizer state, step and generator from <paramref name="dir"/>.</summary>
    public void Restore(string dir)
    {
        var root = LoadRoot(dir, out string path);
        if ((string)root["kind"]! != Kind) throw new CheckpointException($"{path} is a {root["kind"]} checkpoint, not {Kind}");
        if (Convert.ToInt64(root["iters_per_epoch"]) != Order.ItersPerEpoch)
            throw new CheckpointException($"{path}: {root["iters_per_epoch"]} iterations per epoch, but the data and batch size now give {Order.ItersPerEpoch}: the data set changed");
        var sd = StateDicts.Select(root["model"], null, path + ":model");
        using (no_grad()) StateDictLoader.LoadInto(Model, sd, path, k => k == Transformer.ScaleTransformer.MaskBufferKey);
        var optBytes = ((Tensor)root["optimizer"]!).data<byte>().ToArray();
        using (var r = new BinaryReader(new MemoryStream(optBytes))) Optimizer.load_state_dict(r);
        NextStep = Convert.ToInt64(root["step"]);
        Gen.set_state((Tensor)root["rng"]!);
        var order = ((Tensor)root["data_order"]!).data<long>().ToArray();
        if (!order.SequenceEqual(Order.Permutation(Epoch).Select(x => (long)x)))
            throw new CheckpointException($"{path}: the saved data order differs from this run's (different data set or seed)");
        if (root.GetValueOrDefault("extra") is Dictionary<object, object?> extra) RestoreExtra(extra);
        foreach (var t in sd.Values) t.Dispose();
    }

    public virtual void Dispose()
    {
        Optimizer.Dispose();
        Gen.Dispose();
        GC.SuppressFinalize(this);
    }
}
