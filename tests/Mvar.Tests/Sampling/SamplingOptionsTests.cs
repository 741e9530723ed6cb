using Mvar.Sampling;

namespace Mvar.Tests.Sampling;

public class SamplingOptionsTests
{
    [Fact]
    public void DefaultsAreTheOfficialDemosWithTopKAtMostTheVocabulary()
    {
        Assert.Equal(new SamplingOptions { Cfg = 1.5, TopK = 900, TopP = 0.96 }, SamplingOptions.Default(4096));
        Assert.Equal(64, SamplingOptions.Default(64).TopK);
        Assert.Null(SamplingOptions.Default(64).Seed);
    }

    [Theory]
    [InlineData(0.0, null)]
    [InlineData(20.0, null)]
    [InlineData(-0.5, "cfg must be within [0, 20], got -0.5")]
    [InlineData(double.NaN, "cfg must be within [0, 20], got NaN")]
    public void CfgIsWithinZeroToMax(double cfg, string? problem) => Assert.Equal(problem, SamplingOptions.CheckCfg(cfg));

    [Theory]
    [InlineData(0, 64, null)]
    [InlineData(64, 64, null)]
    [InlineData(65, 64, "top-k must be within [0, 64] (the vocabulary), got 65")]
    [InlineData(-1, 64, "top-k must be within [0, 64] (the vocabulary), got -1")]
    [InlineData(5000, null, null)]
    [InlineData(-1, null, "top-k must be >= 0, got -1")]
    public void TopKIsWithinTheVocabulary(int topK, int? vocab, string? problem) => Assert.Equal(problem, SamplingOptions.CheckTopK(topK, vocab));

    [Fact]
    public void ChecksNameTheFieldTheyAreGiven()
    {
        Assert.Equal("\"top_p\" must be within [0, 1], got 1.5", SamplingOptions.CheckTopP(1.5, "\"top_p\""));
        Assert.Null(SamplingOptions.CheckTopP(0.96));
        var e = Assert.Throws<MvarException>(() => new SamplingOptions { TopP = 2 }.Validate());
        Assert.Equal("top-p must be within [0, 1], got 2", e.Message);
    }
}
