using Mvar.Benchmarks;
using Mvar.Config;
using Mvar.Tests.Cli;

namespace Mvar.Tests.Benchmarks;

public class TrainingBenchmarkTests
{
    static readonly string TinyPath = Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json");

    static TrainingBenchmarkResult Run(string arch, int steps = 1, int warmup = 1) =>
        TrainingBenchmark.Run(ModelConfig.Load(TinyPath).WithArch(arch), new TrainingBenchmarkOptions
        {
            Name = "tiny", Batch = 2, Steps = steps,
            Warmup = warmup
        });

    [Fact]
    public void MvarTimesEveryGroupOfTheRatioKCycle()
    {
        // tiny config: patch_nums 1,2,4,8, refine_step 3, ratio_k 2 -> cycle of 3 steps: small group [0,3) twice, then scale 3
        var r = Run("mvar", steps: 2);
        Assert.Equal(3, r.CycleLength);
        Assert.Equal(2, r.Groups.Length);
        var small = r.Groups[0]; var large = r.Groups[1];
        Assert.Equal((0, 3, 2, 1 + 4 + 16), (small.FirstScale, small.EndScale, small.StepsPerCycle, small.Tokens));
        Assert.Equal((3, 4, 1, 64), (large.FirstScale, large.EndScale, large.StepsPerCycle, large.Tokens));
        // each group's measured steps lie at its own positions of the cycle (after one warm-up cycle)
        Assert.Equal([3L, 6L], small.GlobalSteps);
        Assert.Equal([5L, 8L], large.GlobalSteps);
        Assert.Equal((2 * small.SecondsPerStep + large.SecondsPerStep) / 3, r.SecondsPerStep, 12);
        AssertSane(r);
    }

    [Fact]
    public void VarTimesTheFullSequence()
    {
        var r = Run("var", warmup: 0);
        Assert.Equal(1, r.CycleLength);
        var g = Assert.Single(r.Groups);
        Assert.Equal((0, 4, 1 + 4 + 16 + 64), (g.FirstScale, g.EndScale, g.Tokens));
        Assert.Equal(g.SecondsPerStep, r.SecondsPerStep, 12);
        AssertSane(r);
    }

    static void AssertSane(TrainingBenchmarkResult r)
    {
        Assert.Equal(2, r.Batch);
        Assert.Equal(r.CycleLength, r.Groups.Sum(g => g.StepsPerCycle));
        foreach (var g in r.Groups)
        {
            Assert.Equal(r.Steps, g.SecondsPerStepEach.Length);
            Assert.True(g.SecondsPerStep > 0 && g.CpuSecondsPerStep > 0 && g.PeakRssMb > 0, g.Label);
            Assert.Equal(g.SecondsPerStep / 2, g.SecondsPerImage, 12);
        }
        Assert.Equal(r.SecondsPerStep / 2, r.SecondsPerImage, 12);
        double paramMb = r.Parameters * 4 / 1048576.0;
        Assert.Equal(paramMb, r.WeightsMb, 6);
        Assert.Equal(2 * r.GradientsMb, r.OptimizerStateMb, 9);
        Assert.True(r.RssAfterLoadMb > 0 && r.PeakRssMb >= r.Groups.Max(g => g.PeakRssMb) && r.RssAfterFirstStepMb > 0);
        Assert.Equal(r.PeakRssMb - r.RssAfterLoadMb - r.OptimizerStateMb, r.PeakAboveWeightsAndOptimizerMb, 9);
    }

    [Fact]
    public void CliWritesTheJson()
    {
        string path = Path.Combine(Fixtures.TempDir(), "train.json");
        var res = CliRunner.Run("bench", "train", "--config", TinyPath, "--steps", "1", "--warmup", "0", "--json", path);
        Assert.True(res.ExitCode == 0, res.StdErr);
        Assert.Contains("training step", res.StdOut);
        Assert.Contains("cycle", res.StdOut);
        Assert.Contains("step 1/1", res.StdErr);
        var r = TrainingBenchmarkResult.FromJson(File.ReadAllText(path));
        Assert.Equal("mvar", r.Arch);
        Assert.Equal(2, r.Groups.Length);
        Assert.True(r.SecondsPerStep > 0 && r.PeakRssMb > 0);
    }

    [Theory]
    [InlineData("--dtype", "bf16", "float32 training path only")]
    [InlineData("--steps", "0", "steps must be at least 1, got 0")]
    [InlineData("--batch", "0", "batch must be at least 1, got 0")]
    public void BadOptionsGiveOneLineErrors(string option, string value, string expected)
    {
        var res = CliRunner.Run("bench", "train", "--config", TinyPath, option, value);
        CliRunner.AssertOneLineError(res, expected);
    }
}
