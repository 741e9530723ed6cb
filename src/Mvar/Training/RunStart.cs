using System.Globalization;
using Mvar.Config;
using Mvar.Data;

namespace Mvar.Training;

/// <summary>
/// The first steps both kinds of run take before building their networks: the configuration, data set and recorded
/// info of a new or a resumed run, and the data set cut to the run's limit. Shared so that a tokenizer run and a
/// transformer run resume, and refuse a wrong folder, in the same way.
/// </summary>
static class RunStart
{
    const string DataKey = "data", LimitKey = "limit";

    /// <summary>(configuration, data set specification, recorded info) of the run <paramref name="s"/> starts or resumes.</summary>
    public static (ModelConfig config, string data, Dictionary<string, string> info) Resolve(TrainingRunSettings s, string kind)
    {
        if (s.Resume)
        {
            var (config, info, k) = Trainer.ReadHeader(s.RunDir);
            if (k != kind) throw new MvarException($"{s.RunDir} holds a {k} training run, not a {kind} one");
            string data = s.Data ?? info.GetValueOrDefault(DataKey)
                ?? throw new MvarException($"{s.RunDir} records no data set: name one (the Data setting)");
            return (config, data, info);
        }
        string file = s.ConfigFile ?? throw new MvarException("a new training run needs a configuration file (the ConfigFile setting)");
        string spec = s.Data ?? throw new MvarException("a new training run needs a data set (the Data setting)");
        if (File.Exists(Path.Combine(s.RunDir, Trainer.CheckpointFile)))
            throw new MvarException($"{s.RunDir} already holds a training run; resume it or choose another run folder");
        var c = ModelConfig.Load(file);
        return (c with { Training = c.Training ?? new TrainingConfig() }, spec, new Dictionary<string, string>());
    }

    /// <summary>The data set of <paramref name="spec"/>, cut to the run's limit (which goes into <paramref name="info"/>).</summary>
    public static IImageDataset OpenData(TrainingRunSettings s, string spec, Dictionary<string, string> info)
    {
        var d = DataSets.Open(spec, s.DataCache);
        int? limit = s.Limit ?? (info.TryGetValue(LimitKey, out var l) ? int.Parse(l, CultureInfo.InvariantCulture) : null);
        if (limit is not int n) return d;
        if (n < 1) throw new MvarException($"the data limit must be positive, got {n}");
        info[LimitKey] = n.ToString(CultureInfo.InvariantCulture);
        return new Subset(d, n);
    }

    /// <summary>Images per rank and step, at least one.</summary>
    public static int LocalBatch(ModelConfig config, int ranks) => Math.Max(1, (config.Training ?? new TrainingConfig()).BatchSize / ranks);
}
