using Mvar.Analysis;
using Mvar.IO;
using ScottPlot;

namespace Mvar.Cli.Commands;

/// <summary>PNG figures of an <see cref="AttentionReport"/> (ScottPlot), written atomically.</summary>
public static class AttentionPlots
{
    static string ScaleLabel(int[] pns, int s) => $"{s}: {pns[s]}x{pns[s]}";

    /// <summary>Heatmap of [query scale][source scale] mass, each cell annotated; undefined cells blank.</summary>
    public static void ScaleMassHeatmap(AttentionReport r, double?[][] mass, string path, string subtitle)
    {
        int K = r.PatchNums.Length;
        var data = new double[K, K];
        for (int s = 0; s < K; s++)
            for (int t = 0; t < K; t++) data[s, t] = mass[s][t] ?? double.NaN;
        var plt = new Plot();
        var hm = plt.Add.Heatmap(data);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        hm.ManualRange = new ScottPlot.Range(0, 1);
        hm.Rectangle = new CoordinateRect(-0.5, K - 0.5, -0.5, K - 0.5);   // row 0 (the first query scale) at the top
        plt.Add.ColorBar(hm);
        for (int s = 0; s < K; s++)
            for (int t = 0; t < K; t++)
                if (mass[s][t] is { } v)
                {
                    var txt = plt.Add.Text(v.ToString("0.00"), t, K - 1 - s);
                    txt.LabelAlignment = Alignment.MiddleCenter;
                    txt.LabelFontSize = K > 12 ? 9 : 12;
                    txt.LabelFontColor = v > 0.6 ? Colors.Black : Colors.White;
                }
        var labels = Enumerable.Range(0, K).Select(s => ScaleLabel(r.PatchNums, s)).ToArray();
        var ticks = Enumerable.Range(0, K).Select(s => (double)s).ToArray();
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks, labels);
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.Select(y => K - 1 - y).ToArray(), labels);
        plt.Axes.SetLimits(-0.5, K - 0.5, -0.5, K - 0.5);
        plt.Title($"{r.Arch.ToUpperInvariant()} attention mass per source scale ({subtitle}, {r.Images} images)");
        plt.XLabel("source scale (attended)");
        plt.YLabel("query scale");
        Save(plt, path, 760, 640);
    }

    /// <summary>Mass within k x k vs k: the adjacent-scale curve (VAR) and the own-scale curve, with per-block curves faint.</summary>
    public static void WindowCurve(AttentionReport r, string path)
    {
        var plt = new Plot();
        double[] ks = r.Kernels.Select(k => (double)k).ToArray();
        void Line(double?[] ys, string? legend, Color color, float width, bool markers)
        {
            var idx = Enumerable.Range(0, ks.Length).Where(i => ys[i] != null).ToArray();
            if (idx.Length == 0) return;
            var sc = plt.Add.Scatter(idx.Select(i => ks[i]).ToArray(), idx.Select(i => ys[i]!.Value).ToArray(), color);
            sc.LineWidth = width;
            sc.MarkerSize = markers ? 7 : 0;
            if (legend != null) sc.LegendText = legend;
        }
        var adjColor = Colors.C0; var ownColor = Colors.C1;
        bool var = r.Arch == "var";
        for (int b = 0; b < r.Depth; b++)
        {
            if (var) Line(r.AdjacentWindowCurvePerBlock[b], null, adjColor.WithAlpha(0.25), 1, false);
            Line(r.OwnWindowCurvePerBlock[b], null, ownColor.WithAlpha(0.25), 1, false);
        }
        if (var) Line(r.AdjacentWindowCurve, "adjacent coarser scale, around the corresponding position", adjColor, 2.5f, true);
        Line(r.OwnWindowCurve, $"own scale, around the query (scales {r.CurveFromScale}+)", ownColor, 2.5f, true);
        if (r.KernelSize is { } kernel)
        {
            var vl = plt.Add.VerticalLine(kernel);
            vl.LineColor = Colors.Gray;
            vl.LinePattern = LinePattern.Dashed;
            vl.LegendText = $"kernel_size {kernel}";
        }
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ks, r.Kernels.Select(k => $"{k}x{k}").ToArray());
        plt.Axes.SetLimits(0, ks[^1] + 1, 0, 1.05);
        plt.Title($"{r.Arch.ToUpperInvariant()}: attention mass within a k x k neighbourhood ({r.Images} images; faint: per block)");
        plt.XLabel("neighbourhood k x k");
        plt.YLabel("fraction of that scale's attention mass");
        plt.ShowLegend(Alignment.LowerRight);
        Save(plt, path, 800, 520);
    }

    static void Save(Plot plt, string path, int w, int h) => AtomicFile.WriteAllBytes(path, plt.GetImageBytes(w, h, ImageFormat.Png));
}
