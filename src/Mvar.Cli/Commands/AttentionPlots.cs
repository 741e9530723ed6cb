using System.Globalization;
using Mvar.Analysis;
using Mvar.IO;
using ScottPlot;

namespace Mvar.Cli.Commands;

/// <summary>PNG figures of an <see cref="AttentionReport"/> (ScottPlot), written atomically.</summary>
public static class AttentionPlots
{
    static string ScaleLabel(int[] pns, int s) => $"{s}: {pns[s]}x{pns[s]}";

    static string Count(int images) => images == 1 ? "1 image" : $"{images} images";

    /// <summary>Heatmap of [query scale][source scale] mass, each cell annotated; undefined cells blank.</summary>
    public static void ScaleMassHeatmap(AttentionReport r, double?[][] mass, string path, string subtitle)
    {
        var labels = Enumerable.Range(0, r.PatchNums.Length).Select(s => ScaleLabel(r.PatchNums, s)).ToArray();
        Heatmap(mass, labels, labels, $"{r.Arch.ToUpperInvariant()} attention mass per source scale ({subtitle}, {Count(r.Images)})",
            "source scale (attended)", "query scale", path);
    }

    /// <summary>Heatmap of [query scale][k] window fractions (rows without a value are left out).</summary>
    public static void WindowHeatmap(AttentionReport r, double?[][] frac, string what, string path)
    {
        var rows = Enumerable.Range(0, r.PatchNums.Length).Where(s => frac[s].Any(v => v != null)).ToArray();
        if (rows.Length == 0) return;
        Heatmap(rows.Select(s => frac[s]).ToArray(), rows.Select(s => ScaleLabel(r.PatchNums, s)).ToArray(),
            r.Kernels.Select(k => $"{k}x{k}").ToArray(), $"{r.Arch.ToUpperInvariant()}: {what} ({Count(r.Images)})",
            "neighbourhood k x k", "query scale", path);
    }

    static void Heatmap(double?[][] values, string[] rowLabels, string[] colLabels, string title, string xLabel, string yLabel, string path)
    {
        int R = rowLabels.Length, C = colLabels.Length;
        var data = new double[R, C];
        for (int i = 0; i < R; i++)
            for (int j = 0; j < C; j++) data[i, j] = values[i][j] ?? double.NaN;
        var plt = new Plot();
        var hm = plt.Add.Heatmap(data);
        hm.Colormap = new ScottPlot.Colormaps.Viridis();
        hm.ManualRange = new ScottPlot.Range(0, 1);
        hm.Rectangle = new CoordinateRect(-0.5, C - 0.5, -0.5, R - 0.5);   // row 0 at the top
        plt.Add.ColorBar(hm);
        for (int i = 0; i < R; i++)
            for (int j = 0; j < C; j++)
                if (values[i][j] is { } v)
                {
                    var txt = plt.Add.Text(v.ToString("0.00", CultureInfo.InvariantCulture), j, R - 1 - i);
                    txt.LabelAlignment = Alignment.MiddleCenter;
                    txt.LabelFontSize = Math.Max(R, C) > 12 ? 9 : 12;
                    txt.LabelFontColor = v > 0.6 ? Colors.Black : Colors.White;
                }
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(Enumerable.Range(0, C).Select(j => (double)j).ToArray(), colLabels);
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(Enumerable.Range(0, R).Select(i => (double)(R - 1 - i)).ToArray(), rowLabels);
        plt.Axes.SetLimits(-0.5, C - 0.5, -0.5, R - 0.5);
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        Save(plt, path, 760, Math.Max(360, 120 + 75 * R));
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
        bool var = r.AttendsEarlierScales;
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
        plt.Title($"{r.Arch.ToUpperInvariant()}: attention mass within a k x k neighbourhood ({Count(r.Images)}; faint: per block)");
        plt.XLabel("neighbourhood k x k");
        plt.YLabel("fraction of that scale's attention mass");
        plt.ShowLegend(Alignment.LowerRight);
        Save(plt, path, 800, 520);
    }

    static void Save(Plot plt, string path, int w, int h) => AtomicFile.WriteAllBytes(path, plt.GetImageBytes(w, h, ImageFormat.Png));
}
