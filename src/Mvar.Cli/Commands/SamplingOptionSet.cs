using System.CommandLine;
using Mvar.Sampling;

namespace Mvar.Cli.Commands;

/// <summary>
/// The sampling options every generating command shares (<c>--cfg</c>, <c>--top-k</c>, <c>--top-p</c>, <c>--seed</c>,
/// and <c>--smooth</c> where it makes sense), declared once so that their names, help and defaults cannot drift apart
/// between <c>sample</c>, <c>edit</c>, <c>analyze attention</c>, <c>bench sample</c>, <c>bench agreement</c>,
/// <c>compare</c> and <c>curve</c>. The defaults and range checks are the library's (<see cref="SamplingOptions"/>);
/// this class only adds the flag names to the library's messages.
/// </summary>
public sealed class SamplingOptionSet
{
    public readonly Option<double> Cfg = new("--cfg")
    {
        Description = "classifier-free guidance strength (ramped over the scales)", DefaultValueFactory = _ => SamplingOptions.DefaultCfg,
    };
    public readonly Option<int?> TopK = new("--top-k")
    {
        Description = $"keep the k most likely tokens (0: off, 1: greedy); default {SamplingOptions.OfficialTopK}, or the vocabulary when smaller; "
            + "at most the vocabulary",
    };
    public readonly Option<double> TopP = new("--top-p")
    {
        Description = "nucleus sampling threshold in [0, 1] (0: off)", DefaultValueFactory = _ => SamplingOptions.DefaultTopP,
    };
    public readonly Option<ulong?> Seed;
    /// <summary>Null for the commands whose output the smoothing would not serve (scores, timings, statistics).</summary>
    public readonly Option<bool>? Smooth;

    /// <param name="seed">What the seed seeds, for the help, e.g. "seed of the first batch (batch i uses seed + i)".</param>
    /// <param name="randomSeed">
    /// True: without <c>--seed</c> the seed is random (reported with the result), for commands that make pictures;
    /// false: it is <see cref="SamplingOptions.DefaultSeed"/>, for commands whose numbers must repeat from run to run.
    /// </param>
    /// <param name="smooth">Whether the command offers <c>--smooth</c> (official more_smooth).</param>
    public SamplingOptionSet(string seed, bool randomSeed, bool smooth = false)
    {
        Seed = new("--seed") { Description = seed + (randomSeed ? " (default: random, reported)" : "") };
        if (!randomSeed) Seed.DefaultValueFactory = _ => SamplingOptions.DefaultSeed;
        if (smooth) Smooth = new("--smooth") { Description = "Gumbel-softmax smoothing of the next-scale input (official more_smooth; visualisation)" };
    }

    public IEnumerable<Option> All => new Option?[] { Cfg, TopK, TopP, Seed, Smooth }.OfType<Option>();

    public void AddTo(Command c) { foreach (var o in All) c.Options.Add(o); }

    /// <summary>
    /// The settings given, for a model of <paramref name="vocabSize"/> tokens: top-k defaults to the official 900 or
    /// the whole vocabulary when smaller, and is checked to be within it; a bad value is one error naming its flag.
    /// </summary>
    public SamplingOptions From(ParseResult p, int vocabSize)
    {
        var s = SamplingOptions.Default(vocabSize);
        s = s with
        {
            Cfg = p.GetValue(Cfg),
            TopK = p.GetValue(TopK) ?? s.TopK,
            TopP = p.GetValue(TopP),
            Seed = p.GetValue(Seed),
            MoreSmooth = Smooth != null && p.GetValue(Smooth),
        };
        string? problem = SamplingOptions.CheckCfg(s.Cfg, "--cfg") ?? SamplingOptions.CheckTopK(s.TopK, vocabSize, "--top-k")
            ?? SamplingOptions.CheckTopP(s.TopP, "--top-p");
        if (problem != null) throw new MvarException(problem);
        return s;
    }
}
