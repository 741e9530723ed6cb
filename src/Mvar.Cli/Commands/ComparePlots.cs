using System.Globalization;
using Mvar.Benchmarks;
using Mvar.IO;
using SkiaSharp;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// compare.png of <c>mvar compare</c>: the models' sample grids side by side (one row per class), then one small bar
/// chart per figure (ScottPlot), composed with SkiaSharp.
/// </summary>
public static class ComparePlots
{
    const int ChartW = 300, ChartH = 220, ChartColumns = 3, Margin = 16, TitleH = 28;

    public static void Write(IReadOnlyList<ModelRun> runs, IReadOnlyList<string> classLabels, string path)
    {
        var grids = runs.Select(r => GridBitmap(r.GridPerClass)).ToList();
        var charts = Charts(runs).ToList();
        int cell = Math.Max(1, 96 / Math.Max(1, grids[0].height / Math.Max(1, classLabels.Count)));   // upscale small images
        using var font = new SKFont(SKTypeface.Default, 15);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        int labelW = (int)Math.Ceiling(classLabels.Max(l => font.MeasureText(l))) + 2 * Margin;
        int gridW = Math.Max(grids.Max(g => g.width) * cell, 320), gridH = grids.Max(g => g.height) * cell;
        int chartRows = (charts.Count + ChartColumns - 1) / ChartColumns;
        int width = Math.Max(labelW + runs.Count * (gridW + Margin) + Margin, ChartColumns * ChartW + 2 * Margin);
        int height = Margin + TitleH + gridH + Margin + chartRows * ChartH + Margin;

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);

        int top = Margin + TitleH;
        int rows = classLabels.Count, rowH = gridH / Math.Max(1, rows);
        for (int c = 0; c < rows; c++)
            canvas.DrawText(classLabels[c], Margin, top + c * rowH + rowH / 2 + 5, SKTextAlign.Left, font, ink);
        for (int i = 0; i < runs.Count; i++)
        {
            int x = labelW + i * (gridW + Margin);
            var f = runs[i].Figures;
            canvas.DrawText($"{f.Name} (depth {f.Depth}, {f.Parameters / 1e6:F1}M parameters)", x, Margin + 18, SKTextAlign.Left, font, ink);
            var (px, w, h) = grids[i];
            using var image = SKImage.FromPixelCopy(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), px);
            canvas.DrawImage(image, new SKRect(x, top, x + w * cell, top + h * cell), new SKSamplingOptions(SKFilterMode.Nearest), null);
        }

        int chartTop = top + gridH + Margin;
        int chartLeft = (width - ChartColumns * ChartW) / 2;
        for (int k = 0; k < charts.Count; k++)
        {
            using var chart = SKImage.FromEncodedData(charts[k]);
            canvas.DrawImage(chart, chartLeft + k % ChartColumns * ChartW, chartTop + k / ChartColumns * ChartH);
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.AsSpan());
    }

    /// <summary>One row per class of up to n images (uint8 H x W x 3), blank where a class has fewer, as RGBA pixels.</summary>
    static (byte[] rgba, int width, int height) GridBitmap(Tensor[][] perClass)
    {
        using var scope = NewDisposeScope();
        var sample = perClass.SelectMany(x => x).First();
        int columns = Math.Max(1, perClass.Max(x => x.Length));
        var blank = full(3, sample.shape[0], sample.shape[1], -1f);
        var cells = perClass.SelectMany(row => Enumerable.Range(0, columns)
            .Select(j => j < row.Length ? Npz.FromUint8NHWC(row[j].unsqueeze(0))[0] : blank)).ToList();
        var (px, w, h, c) = ImageFiles.TensorToPixels(ImageFiles.MakeGrid(cells, columns));
        var rgba = new byte[w * h * 4];
        for (int i = 0; i < w * h; i++)
        {
            for (int k = 0; k < 3; k++) rgba[4 * i + k] = px[c * i + (c == 1 ? 0 : k)];
            rgba[4 * i + 3] = 255;
        }
        return (rgba, w, h);
    }

    /// <summary>PNG bytes of one bar chart per figure, a bar per model.</summary>
    static IEnumerable<byte[]> Charts(IReadOnlyList<ModelRun> runs)
    {
        var f = runs.Select(r => r.Figures).ToList();
        yield return Bars(f, "FID (lower is better)", x => x.Fid);
        yield return Bars(f, "Inception Score", x => x.IsMean);
        yield return Bars(f, "precision / recall", x => x.Precision, x => x.Recall);
        yield return Bars(f, "seconds per image", x => x.SecondsPerImage);
        yield return Bars(f, "peak memory above weights (MB)", x => x.PeakAboveWeightsMb);
        yield return Bars(f, "KV cache per image (MB)", x => x.KvCacheBytesPerImage / 1048576.0);
        yield return Bars(f, "GFLOP per image", x => x.GflopsPerImage);
        yield return Bars(f, "parameters (M)", x => x.Parameters / 1e6);
    }

    static byte[] Bars(IReadOnlyList<ModelFigures> models, string title, Func<ModelFigures, double> value, Func<ModelFigures, double>? second = null)
    {
        var plt = new ScottPlot.Plot();
        int groups = second == null ? 1 : 2;
        var ticks = new List<ScottPlot.Tick>();
        for (int m = 0; m < models.Count; m++)
        {
            for (int g = 0; g < groups; g++)
            {
                double v = (g == 0 ? value : second!)(models[m]);
                double pos = m * (groups + 0.5) + g;
                var bar = plt.Add.Bar(pos, double.IsFinite(v) ? v : 0);
                bar.Color = ScottPlot.Palette.Default.GetColor(g == 0 ? m : m + 2);
                bar.Bars[0].Label = v.ToString(Math.Abs(v) >= 100 ? "F0" : Math.Abs(v) >= 1 ? "F2" : "G3", CultureInfo.InvariantCulture);
                ticks.Add(new ScottPlot.Tick(pos, groups == 1 ? models[m].Name : $"{models[m].Name}\n{(g == 0 ? "precision" : "recall")}"));
            }
        }
        foreach (var bp in plt.GetPlottables().OfType<ScottPlot.Plottables.BarPlot>()) bp.ValueLabelStyle.FontSize = 12;
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plt.Axes.Margins(bottom: 0, top: 0.25);
        plt.Title(title, size: 13);
        return plt.GetImageBytes(ChartW, ChartH, ScottPlot.ImageFormat.Png);
    }
}
