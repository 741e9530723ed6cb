using System.Text.Json;
using Mvar.Config;
using Mvar.Tests.Cli;
using Mvar.Tokens;
using Mvar.Training;
using Mvar.Transformer;

namespace Mvar.Tests.Transformer;

/// <summary>The seam's answers for both architectures, and the architecture's names at the edges.</summary>
public class AttentionPatternTests
{
    static readonly int[] Pns = [1, 2, 3, 4, 6, 8];
    static readonly ScaleLayout Layout = new(Pns);

    static IAttentionPattern Of(Architecture arch, int kernel = 3, int refine = 4, IReadOnlyList<int>? pns = null) =>
        AttentionPatterns.For(new TransformerConfig { Arch = arch, KernelSize = kernel, RefineStep = refine }, pns == null ? Layout : new ScaleLayout(pns));

    [Fact]
    public void TheFactoryMakesThePatternOfEachArchitecture()
    {
        Assert.IsType<VarAttentionPattern>(Of(Architecture.Var));
        Assert.IsType<MvarAttentionPattern>(Of(Architecture.Mvar));
        Assert.True(((MvarAttentionPattern)AttentionPatterns.For(new TransformerConfig { Arch = Architecture.Mvar, KernelSize = 3, RefineStep = 4 }, Layout,
            varMaskInSmallGroup: true)).VarMaskInSmallGroup);
        Assert.All(Enum.GetValues<Architecture>(), a => Assert.Equal(a, Of(a).Arch));
    }

    [Fact]
    public void VarTrainsEveryScaleAtEveryStep()
    {
        var var_ = Of(Architecture.Var);
        foreach (int ratioK in new[] { 1, 2, 8 })
        {
            Assert.Equal(1, var_.TrainingCycle(ratioK));
            Assert.Empty(var_.NeverTrained(ratioK));
            for (long step = 0; step < 12; step++) Assert.Equal(new ScaleGroup(5, 0, 6, false), var_.TrainingGroup(step, ratioK));
        }
    }

    [Fact]
    public void MvarTrainsTheSmallScaleGroupRatioKTimesThenEachLargeScaleAlone()
    {
        var mvar = Of(Architecture.Mvar);
        Assert.Equal(4, mvar.TrainingCycle(2));   // ratio_k + K - refine_step
        ScaleGroup small = new(3, 0, 4, false), s4 = new(4, 4, 5, true), s5 = new(5, 5, 6, true);
        Assert.Equal([small, small, s4, s5, small, small, s4, s5], Enumerable.Range(0, 8).Select(g => mvar.TrainingGroup(g, 2)));
        Assert.Equal([small, s4, s5, small], Enumerable.Range(0, 4).Select(g => mvar.TrainingGroup(g, 1)));
        for (long g = 0; g < 40; g++) Assert.Equal(MvarSchedule.At(g, 6, 4, 8), mvar.TrainingGroup(g, 8));
        Assert.Empty(mvar.NeverTrained(2));
        Assert.Equal([6], Of(Architecture.Mvar, pns: [1, 2, 3, 4, 5, 6, 8]).NeverTrained(2));   // the official formula's quirk
    }

    [Fact]
    public void VarGuidesAtEveryCfgAndMvarNotAtCfgOne()
    {
        Assert.True(Of(Architecture.Var).Guides(1.0));
        Assert.True(Of(Architecture.Var).Guides(1.5));
        Assert.False(Of(Architecture.Mvar).Guides(1.0));
        Assert.True(Of(Architecture.Mvar).Guides(1.5));
        Assert.True(Of(Architecture.Mvar).Guides(0.0));
    }

    [Fact]
    public void KeysPerQuery()
    {
        var var_ = Of(Architecture.Var);
        var mvar = Of(Architecture.Mvar, kernel: 5, refine: 4);
        Assert.Equal(new double[] { 1, 5, 14, 30, 66, 130 }, Enumerable.Range(0, 6).Select(var_.KeysPerQuery));             // this and every earlier scale
        Assert.Equal(new double[] { 1, 4, 9, 16, 25, 25 }, Enumerable.Range(0, 6).Select(mvar.KeysPerQuery));               // own scale, then 5x5
        Assert.Equal(new double[] { 1, 4, 9, 16, 36, 49 }, Enumerable.Range(0, 6).Select(Of(Architecture.Mvar,
            kernel: 7).KeysPerQuery));   // 7x7 clipped to the 6x6 map
    }

    [Fact]
    public void ProbeBehaviour()
    {
        var var_ = Of(Architecture.Var);
        Assert.Equal([(First: 0, End: 6)], var_.ProbeForwards());
        Assert.True(var_.AttendsEarlierScales);
        Assert.Equal(1, var_.ProbeCurveFromScale);
        Assert.Null(var_.Window);
        var mvar = Of(Architecture.Mvar, kernel: 3, refine: 4);
        Assert.Equal(Enumerable.Range(0, 6).Select(s => (First: s, End: s + 1)), mvar.ProbeForwards());
        Assert.False(mvar.AttendsEarlierScales);
        Assert.Equal(4, mvar.ProbeCurveFromScale);
        Assert.Equal<(int, int)?>((3, 4), mvar.Window);
        Assert.Equal(5, Of(Architecture.Mvar, refine: 6).ProbeCurveFromScale);   // no neighbourhood scale: the last one
    }

    [Fact]
    public void ArchitecturesAreNamedVarAndMvarAtTheEdges()
    {
        Assert.Equal("var", Architecture.Var.Name());
        Assert.Equal("mvar", Architecture.Mvar.Name());
        Assert.All(Enum.GetValues<Architecture>(), a => Assert.Equal(a, Architectures.Parse(a.Name())));
        Assert.Equal("\"mvar\"", JsonSerializer.Serialize(Architecture.Mvar));
        Assert.Equal(Architecture.Var, JsonSerializer.Deserialize<Architecture>("\"var\""));
        Assert.Contains("\"arch\": \"var\"", ModelConfig.Parse("""{"tokenizer": {}, "transformer": {"arch": "var"}}""").ToJson());
        var e = Assert.Throws<MvarException>(() => Architectures.Parse("Var", "--arch"));
        Assert.Equal("--arch must be var or mvar, got \"Var\"", e.Message);
        Assert.False(Architectures.TryParse(null, out _));
    }

    [Fact]
    public void ABadArchInAConfigFileIsOneErrorLineNamingTheValue()
    {
        string config = Path.Combine(Fixtures.TempDir(), "bad-arch.json");
        string json = ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json")).ToJson();
        Assert.Contains("\"arch\": \"mvar\"", json);
        File.WriteAllText(config, json.Replace("\"arch\": \"mvar\"", "\"arch\": \"transformer\""));
        var r = CliRunner.Run("sample", "--config", config, "--vae", Fixtures.Parity("vae.pth"), "--model", Fixtures.Parity("mvar.pth"));
        CliRunner.AssertOneLineError(r, "transformer.arch: must be \"var\" or \"mvar\", got \"transformer\"");
    }
}
