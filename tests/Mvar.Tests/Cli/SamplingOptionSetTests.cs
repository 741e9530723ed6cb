using System.CommandLine;
using Mvar.Cli.Commands;
using Mvar.Sampling;

namespace Mvar.Tests.Cli;

/// <summary>The one sampling-option set of the generating commands: its defaults, its errors, and that every command offers it alike.</summary>
public class SamplingOptionSetTests
{
    static ParseResult Parse(SamplingOptionSet set, params string[] args)
    {
        var cmd = new Command("c");
        set.AddTo(cmd);
        return cmd.Parse(args);
    }

    [Fact]
    public void DefaultsAreTheLibrarysWithTopKClampedToTheVocabulary()
    {
        var set = new SamplingOptionSet("seed", randomSeed: true, smooth: true);
        Assert.Equal(new SamplingOptions { Cfg = 1.5, TopK = 900, TopP = 0.96 }, set.From(Parse(set), 4096));
        Assert.Equal(256, set.From(Parse(set), 256).TopK);
        Assert.Null(set.From(Parse(set), 4096).Seed);
        var fixedSeed = new SamplingOptionSet("seed", randomSeed: false);
        Assert.Equal(SamplingOptions.DefaultSeed, fixedSeed.From(Parse(fixedSeed), 4096).Seed);
        Assert.Null(fixedSeed.Smooth);
    }

    [Fact]
    public void GivenValuesAreTaken()
    {
        var set = new SamplingOptionSet("seed", randomSeed: true, smooth: true);
        var s = set.From(Parse(set, "--cfg", "3", "--top-k", "0", "--top-p", "0.5", "--seed", "7", "--smooth"), 256);
        Assert.Equal(new SamplingOptions { Cfg = 3, TopK = 0, TopP = 0.5, Seed = 7, MoreSmooth = true }, s);
    }

    [Theory]
    [InlineData("--cfg", "-0.5", "--cfg must be within [0, 20], got -0.5")]
    [InlineData("--cfg", "21", "--cfg must be within [0, 20], got 21")]
    [InlineData("--top-k", "-1", "--top-k must be within [0, 256] (the vocabulary), got -1")]
    [InlineData("--top-k", "257", "--top-k must be within [0, 256] (the vocabulary), got 257")]
    [InlineData("--top-p", "1.2", "--top-p must be within [0, 1], got 1.2")]
    [InlineData("--top-p", "-0.1", "--top-p must be within [0, 1], got -0.1")]
    public void ABadValueIsOneErrorNamingItsFlag(string flag, string value, string expected)
    {
        var set = new SamplingOptionSet("seed", randomSeed: false);
        var e = Assert.Throws<MvarException>(() => set.From(Parse(set, flag, value), 256));
        Assert.Equal(expected, e.Message);
    }

    /// <summary>Every command drawing samples, and whether its seed is random by default (pictures) or fixed (numbers that must repeat).</summary>
    public static TheoryData<string, bool> Commands => new()
    {
        { "sample", true }, { "edit", true }, { "analyze attention", false }, { "bench sample", false },
        { "bench agreement", false }, { "compare", false }, { "curve", false },
    };

    static Command Find(string path)
    {
        var parts = path.Split(' ');
        Command c = parts[0] switch
        {
            "sample" => SampleCommand.Create(),
            "edit" => EditCommand.Create(),
            "analyze" => AnalyzeCommand.Create(),
            "bench" => BenchCommand.Create(),
            "compare" => CompareCommand.Create(),
            "curve" => CurveCommand.Create(),
            _ => throw new ArgumentException(path),
        };
        foreach (var sub in parts.Skip(1)) c = c.Subcommands.Single(s => s.Name == sub);
        return c;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryGeneratingCommandAcceptsTheSameFlagsWithTheSameDefaults(string path, bool randomSeed)
    {
        var cmd = Find(path);
        var given = cmd.Parse(["--cfg", "2", "--top-k", "7", "--top-p", "0.5", "--seed", "3"]);
        Assert.Empty(given.UnmatchedTokens);
        Assert.Equal(2, given.GetValue<double>("--cfg"));
        Assert.Equal(7, given.GetValue<int?>("--top-k"));
        Assert.Equal(0.5, given.GetValue<double>("--top-p"));
        Assert.Equal(3UL, given.GetValue<ulong?>("--seed"));
        var none = cmd.Parse([]);
        Assert.Equal(SamplingOptions.DefaultCfg, none.GetValue<double>("--cfg"));
        Assert.Null(none.GetValue<int?>("--top-k"));   // then min(900, vocabulary), for every command alike
        Assert.Equal(SamplingOptions.DefaultTopP, none.GetValue<double>("--top-p"));
        Assert.Equal(randomSeed ? null : SamplingOptions.DefaultSeed, none.GetValue<ulong?>("--seed"));
    }
}
