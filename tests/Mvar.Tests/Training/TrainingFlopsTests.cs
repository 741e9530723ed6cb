using Mvar.Config;
using Mvar.Sampling;
using Mvar.Tokens;
using Mvar.Training;
using Mvar.Transformer;

namespace Mvar.Tests.Training;

public class TrainingFlopsTests
{
    // The shipped Fashion-MNIST shape (6 scales up to 8x8, refine_step 4, kernel 5) and a 256 px official one (kernel 7
    // smaller than the 8x8..16x16 maps), so that clipped and unclipped neighbourhoods are both counted.
    static (TransformerConfig t, TokenizerConfig tok)[] Shapes(string arch) =>
    [
        (new TransformerConfig { Arch = Architectures.Parse(arch), Depth = 4, EmbedDim = 128, NumHeads = 4, NumClasses = 10, KernelSize = 5, RefineStep = 4 },
         new TokenizerConfig { VocabSize = 256, ZChannels = 16, PatchNums = [1, 2, 3, 4, 6, 8] }),
        (new TransformerConfig { Arch = Architectures.Parse(arch), Depth = 2, EmbedDim = 64, NumHeads = 2, NumClasses = 10, KernelSize = 7, RefineStep = 8 },
         new TokenizerConfig { VocabSize = 4096, ZChannels = 32, PatchNums = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16] }),
    ];

    static IAttentionPattern PatternOf(TransformerConfig t, TokenizerConfig tok) => ScaleTransformer.DefaultPattern(t, new ScaleLayout(tok.PatchNums));

    [Fact]
    public void AVarStepIsThreeTimesTheUnguidedSamplingWorkWithTheConditionComputedOnce()
    {
        foreach (var (t, tok) in Shapes("var"))
        {
            int K = tok.PatchNums.Length, B = 8;
            var s = SamplingFlops.For(t, tok, B, guided: false);    // a formula of its own: keys = all tokens up to the scale
            double expected = 3 * (s.Total - s.AdaLn + s.AdaLn / K);   // sampling runs the AdaLN projections at every scale
            double step = TrainingFlops.PerStep(t, tok, PatternOf(t, tok), MvarSchedule.Var(K), B);
            Assert.Equal(expected, step, expected * 1e-12);
        }
    }

    [Fact]
    public void AnMvarCycleCoversEveryScaleOnceWithTheSamplersKeys()
    {
        foreach (var (t, tok) in Shapes("mvar"))
        {
            int K = tok.PatchNums.Length, B = 8, cycle = 1 + K - t.RefineStep;   // ratio_k 1: the small group, then each large scale
            var pattern = PatternOf(t, tok);
            var s = SamplingFlops.For(t, tok, B, guided: false);
            double expected = 3 * (s.Total - s.AdaLn + s.AdaLn * cycle / K);
            double sum = TrainingFlops.ForSteps(cycle, g => MvarSchedule.At(g, K, t.RefineStep, 1), g => TrainingFlops.PerStep(t, tok, pattern, g, B));
            Assert.Equal(expected, sum, expected * 1e-12);
        }
    }

    [Fact]
    public void VarsMaskInTheSmallGroupCountsTheEarlierScalesKeys()
    {
        var (t, tok) = Shapes("mvar")[0];
        var layout = new ScaleLayout(tok.PatchNums);
        var small = MvarSchedule.At(0, layout.Count, t.RefineStep, 1);
        double own = TrainingFlops.PerStep(t, tok, new MvarAttentionPattern(layout, t.KernelSize, t.RefineStep), small, 1);
        double varMask = TrainingFlops.PerStep(t, tok, new MvarAttentionPattern(layout, t.KernelSize, t.RefineStep, varMaskInSmallGroup: true), small, 1);
        // per query: its own scale's l tokens vs every token up to the end of its scale
        double ownKeys = 0, varKeys = 0;
        for (int si = 0; si < t.RefineStep; si++)
        {
            double l = layout.Side(si) * layout.Side(si);
            ownKeys += l * l; varKeys += l * layout.End(si);
        }
        Assert.Equal(3 * t.Depth * 4 * (varKeys - ownKeys) * t.EmbedDim, varMask - own, 1e-6);
    }

    [Fact]
    public void ForStepsSumsTheGroupsOfEveryStep()
    {
        var (t, tok) = Shapes("mvar")[0];
        var pattern = PatternOf(t, tok);
        int K = tok.PatchNums.Length;
        double manual = 0;
        for (long g = 0; g < 23; g++) manual += TrainingFlops.PerStep(t, tok, pattern, MvarSchedule.At(g, K, t.RefineStep, 3), 64);
        double viaMemo = TrainingFlops.ForSteps(23, g => MvarSchedule.At(g, K, t.RefineStep, 3), g => TrainingFlops.PerStep(t, tok, pattern, g, 64));
        Assert.Equal(manual, viaMemo, manual * 1e-12);
        Assert.Equal(0, TrainingFlops.ForSteps(0, g => MvarSchedule.Var(K), g => 1.0));
    }
}
