using System.CommandLine;
using Mvar.Metrics;
using Mvar.Sampling;

namespace Mvar.Cli.Commands;

/// <summary>
/// The options <c>mvar compare</c> and <c>mvar curve</c> share: how the samples are drawn (cfg, top-k, top-p, the
/// first batch's seed, batch size) and what scores them (the feature network, the reference-feature cache).
/// </summary>
public sealed class ScoredSamplingOptions
{
    public readonly SamplingOptionSet Sampling = new("seed of the first batch (batch i uses seed + i, for every model)", randomSeed: false);
    public readonly Option<int> Batch = new("--batch") { Description = "images per sampling call", DefaultValueFactory = _ => 50 };
    public readonly Option<string?> Classifier = new("--classifier")
    {
        Description =
        $"weights of the feature network (default: {FashionClassifier.ShippedWeights})"
    };
    public readonly Option<string?> CacheDir = new("--cache-dir") { Description = "where reference features are cached (default ~/.cache/mvar)" };

    public void AddTo(Command c)
    {
        Sampling.AddTo(c);
        foreach (var o in new Option[] { Batch, Classifier, CacheDir }) c.Options.Add(o);
    }

    /// <summary>--batch, at least 1.</summary>
    public int BatchOf(ParseResult p)
    {
        int b = p.GetValue(Batch);
        if (b < 1) throw new MvarException($"--batch must be at least 1, got {b}");
        return b;
    }

    /// <summary>The sampling settings, checked against the vocabulary (<see cref="SamplingOptionSet.From"/>).</summary>
    public SamplingOptions SamplingOf(ParseResult p, int vocabSize) => Sampling.From(p, vocabSize);
}
