using Mvar.Config;
using Mvar.Training;

namespace Mvar.Tests.Training;

public class TrainingMemoryTests
{
    static ModelConfig Shipped() => ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "models", "fashion-mnist", "config.json"));

    [Fact]
    public void TheEstimateIsTheStatePlusActivationsLinearInTheBatch()
    {
        var c = Shipped();
        foreach (var estimate in new Func<ModelConfig, int, double>[] { TrainingMemory.Transformer, TrainingMemory.Tokenizer })
        {
            double e0 = estimate(c, 0), e32 = estimate(c, 32), e64 = estimate(c, 64);
            Assert.True(e0 > 0 && e32 > e0);
            Assert.Equal(2 * (e32 - e0), e64 - e0, (e64 - e0) * 1e-9);
        }
    }

    [Fact]
    public void TheShippedRunsFitAndAHugeBatchOfTheOfficialD16DoesNot()
    {
        var c = Shipped();
        // the shipped VAR run peaked at 983 MB resident, runtime included (bench/RESULTS.md): the estimate is of that order
        double shipped = TrainingMemory.Transformer(c, 64);
        Assert.InRange(shipped, 100e6, 2e9);
        TrainingMemory.Require(shipped, "transformer", 64);
        var d16 = Presets.Get("var-d16");
        var e = Assert.Throws<MvarException>(() => TrainingMemory.Require(TrainingMemory.Transformer(d16, 4096), "transformer", 4096));
        Assert.Contains("a transformer training step of 4096 samples per process (training.batch_size) needs about", e.Message);
    }
}
