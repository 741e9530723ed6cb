using Mvar.Analysis;
using Mvar.Tokens;
using Mvar.Transformer;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Analysis;

public class AttentionAnalysisTests
{
    static readonly int[] Pns = [1, 2, 3, 4, 6, 8];

    static List<Tensor> RandomTokens(int B, int seed)
    {
        var g = new Generator((ulong)seed);
        return Pns.Select(pn => randint(0, 64, [B, pn * pn], generator: g)).ToList();
    }

    /// <summary>The fixture model with q and k forced to zero: every query attends uniformly to the keys it may see.</summary>
    static ScaleTransformer UniformAttentionModel(string arch)
    {
        var m = Model(arch, arch + ".pth");
        using var _ = no_grad();
        foreach (var (name, p) in m.named_parameters())
        {
            if (name.EndsWith("attn.mat_qkv.weight", StringComparison.Ordinal)) p.narrow(0, 0, 2 * m.EmbedDim).zero_();
            if (name.EndsWith("attn.q_bias", StringComparison.Ordinal)) p.zero_();
        }
        return m;
    }

    static AttentionReport Analyze(ScaleTransformer model, int images = 2)
    {
        var stats = new AttentionStatistics(model.Layout, model.Depth);
        AttentionAnalyzer.Accumulate(stats, model, Vae, RandomTokens(images, 1), tensor(new long[] { 1, 10 }.Take(images).ToArray()));
        return AttentionAnalyzer.Report(stats, model);
    }

    static double Side2(int k, int pn) => Math.Pow(Math.Min(k, pn), 2) / (pn * pn);

    [Fact]
    public void UniformVarAttentionGivesTheKnownMasses()
    {
        using var model = UniformAttentionModel("var");
        var r = Analyze(model);
        Assert.Equal(2, r.Images);
        for (int s = 0; s < Pns.Length; s++)
        {
            double seen = Pns.Take(s + 1).Sum(p => p * p);
            for (int t = 0; t < Pns.Length; t++)
            {
                double expected = t <= s ? Pns[t] * Pns[t] / seen : 0;
                Assert.Equal(expected, r.ScaleMass[s][t]!.Value, 5);
                for (int b = 0; b < 2; b++) Assert.Equal(expected, r.ScaleMassPerBlock[b][s][t]!.Value, 5);
            }
            for (int ki = 0; ki < r.Kernels.Length; ki++)
            {
                Assert.Equal(Side2(r.Kernels[ki], Pns[s]), r.OwnWindowFraction[s][ki]!.Value, 5);
                if (s == 0) Assert.Null(r.AdjacentWindowFraction[s][ki]);
                else Assert.Equal(Side2(r.Kernels[ki], Pns[s - 1]), r.AdjacentWindowFraction[s][ki]!.Value, 5);
            }
        }
        // pooled curve over scales 1..5: sum_s l_s * frac_s / sum_s l_s (uniform mass per query on the adjacent scale
        // is l_{s-1}/seen_s, so pool with weights l_s * l_{s-1} / seen_s)
        for (int ki = 0; ki < r.Kernels.Length; ki++)
        {
            double num = 0, den = 0;
            for (int s = 1; s < Pns.Length; s++)
            {
                double w = Pns[s] * Pns[s] * Pns[s - 1] * Pns[s - 1] / Pns.Take(s + 1).Sum(p => (double)p * p);
                num += w * Side2(r.Kernels[ki], Pns[s - 1]); den += w;
            }
            Assert.Equal(num / den, r.AdjacentWindowCurve[ki]!.Value, 5);
        }
    }

    [Fact]
    public void UniformMvarAttentionKeepsKSquaredOverTheMapWithinScale()
    {
        using var model = UniformAttentionModel("mvar");
        var r = Analyze(model);
        Assert.Equal(3, r.KernelSize);
        Assert.Equal(4, r.CurveFromScale);
        for (int s = 0; s < Pns.Length; s++)
            for (int ki = 0; ki < r.Kernels.Length; ki++)
                Assert.Equal(Side2(r.Kernels[ki], Pns[s]), r.OwnWindowFraction[s][ki]!.Value, 5);
        for (int s = 0; s < 4; s++) Assert.Equal(1.0, r.ScaleMass[s][s]!.Value, 5);   // dense within-scale scales
        Assert.Null(r.ScaleMass[5][5]);                                               // neighbourhood scales: not measured
        // the curve pools scales 4 and 5 (6x6 and 8x8, 36 and 64 queries)
        int k3 = Array.IndexOf(r.Kernels, 3);
        Assert.Equal((36 * 9.0 / 36 + 64 * 9.0 / 64) / 100, r.OwnWindowCurve[k3]!.Value, 5);
    }

    [Fact]
    public void AttentionOnTheCorrespondingPositionIsAllInsideEveryWindow()
    {
        var layout = new ScaleLayout(Pns);
        var stats = new AttentionStatistics(layout, 1);
        int L = layout.L;
        var P = new float[L * L];
        for (int s = 0; s < Pns.Length; s++)
            for (int i = 0; i < Pns[s]; i++)
                for (int j = 0; j < Pns[s]; j++)
                {
                    int q = layout.Begin(s) + i * Pns[s] + j;
                    if (s == 0) { P[q * L + q] = 1; continue; }
                    int pt = Pns[s - 1], ci = (int)Math.Floor((i + 0.5) * pt / Pns[s]), cj = (int)Math.Floor((j + 0.5) * pt / Pns[s]);
                    P[q * L + layout.Begin(s - 1) + ci * pt + cj] = 1;
                }
        stats.Add(0, 0, tensor(P, [1, 1, L, L]).expand(2, 3, -1, -1));
        stats.AddImages(2);
        var r = stats.Report(new VarAttentionPattern(layout));
        Assert.True(r.AttendsEarlierScales);
        Assert.Equal(1, r.CurveFromScale);
        for (int s = 1; s < Pns.Length; s++)
        {
            Assert.Equal(1.0, r.ScaleMass[s][s - 1]!.Value, 6);
            Assert.Equal(1.0, r.ScaleMass[s].Sum(v => v!.Value), 6);
            Assert.All(r.AdjacentWindowFraction[s], v => Assert.Equal(1.0, v!.Value, 6));
            Assert.All(r.OwnWindowFraction[s], Assert.Null);   // no mass on the own scale
        }
        Assert.All(r.AdjacentWindowCurve, v => Assert.Equal(1.0, v!.Value, 6));
    }

    [Fact]
    public void WindowsMapToScaleCoordinatesAndShiftInwardsAtBorders()
    {
        var stats = new AttentionStatistics(new ScaleLayout([13, 16]), 1);
        var w = stats.Window(1, 0, 3)[15 * 16 + 0];   // query (15, 0) of 16x16 -> centre (12, 0) of 13x13 -> rows 10..12, cols 0..2
        Assert.Equal(new[] { 130, 131, 132, 143, 144, 145, 156, 157, 158 }, w);
        Assert.Equal(Enumerable.Range(0, 169), stats.Window(1, 0, 15)[0].Order());   // k > side: the whole map
        Assert.Equal(new[] { 7 * 16 + 7 }, stats.Window(1, 1, 1)[7 * 16 + 7]);         // own scale, k = 1: the query itself
    }

    [Fact]
    public void FixtureModelRowsSumToOneAndCurvesGrowToOne()
    {
        using var model = Model("var", "var.pth");
        var r = Analyze(model);
        for (int s = 0; s < Pns.Length; s++)
        {
            Assert.Equal(1.0, r.ScaleMass[s].Sum(v => v!.Value), 5);
            for (int b = 0; b < r.Depth; b++) Assert.Equal(1.0, r.ScaleMassPerBlock[b][s].Sum(v => v!.Value), 5);
        }
        var curve = r.AdjacentWindowCurve.Select(v => v!.Value).ToArray();
        for (int i = 1; i < curve.Length; i++) Assert.True(curve[i] >= curve[i - 1] - 1e-9);
        Assert.Equal(1.0, curve[^1], 5);   // 15 x 15 covers every adjacent map (at most 6x6)
        var json = AttentionReport.FromJson(r.ToJson());
        Assert.Equal(r.ScaleMass[3][2], json.ScaleMass[3][2]);
        Assert.Contains("\"adjacent_window_curve\"", r.ToJson());
    }

    [Fact]
    public void TheProbeDoesNotChangeTheForward()
    {
        using var _ = no_grad();
        foreach (var arch in new[] { "var", "mvar" })
        {
            using var model = Model(arch, arch + ".pth");
            var tokens = RandomTokens(2, 3);
            using var x = Vae.Quantize.IdxBlToVarInput(tokens)!;
            using var label = tensor(new long[] { 1, 2 });
            int end = arch == "var" ? 6 : 4, calls = 0;
            using var plain = model.Forward(label, x.narrow(1, 0, model.Layout.End(end - 1) - 1), 0, end);
            using var probed = model.Forward(label, x.narrow(1, 0, model.Layout.End(end - 1) - 1), 0, end, probe: p => calls++);
            TensorAssert.Equal(plain, probed, arch);
            Assert.Equal(model.Depth, calls);
        }
    }
}
