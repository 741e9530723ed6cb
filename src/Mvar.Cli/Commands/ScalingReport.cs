using System.Globalization;
using System.Text;
using Mvar.Benchmarks;
using Mvar.IO;
using SkiaSharp;

namespace Mvar.Cli.Commands;

/// <summary>
/// <c>mvar bench scaling</c>: <c>bench sample --json</c> results of VAR and MVAR at several resolutions as one markdown
/// table and one PNG (ScottPlot): the last scale's attention time per token and the transformer-phase memory above
/// the weights, against the last scale's tokens, one line per architecture.
/// </summary>
public static class ScalingReport
{
    const int ChartW = 560, ChartH = 400;

    public static string Markdown(IReadOnlyList<SamplingBenchmarkResult> results)
    {
        static string F(double x, string fmt) => double.IsNaN(x) ? "-" : x.ToString(fmt, CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine("| model | px | last scale | keys/query | s/image | transformer s | decode s | last-scale transformer s | attention us/token/block "
            + "| attention MFLOP/token/block | KV cache MB | transformer peak above load MB | decode peak above load MB |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Ordered(results))
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Arch}-d{r.Depth} | {r.ImageSize} | {r.LastScaleSide}x{r.LastScaleSide} ({r.LastScaleTokens}) | {r.LastScaleKeysPerQuery} | " +
                          $"{F(r.SecondsPerImage, "F2")} | {F(r.TransformerSeconds, "F2")} | {F(r.DecodeSeconds, "F2")} | " +
                          $"{F(r.ScaleSeconds.Length > 0 ? r.ScaleSeconds[^1] : double.NaN, "F2")} | {F(r.LastScaleAttentionMicrosecondsPerToken, "F3")} | " +
                          $"{F(r.LastScaleAttentionMflopPerToken, "F2")} | {F(r.KvCacheBytes / 1048576.0, "F1")} | " +
                          $"{F(r.TransformerPeakAboveLoadMb, "F0")} | {F(r.DecodePeakAboveLoadMb, "F0")} |");
        return sb.ToString();
    }

    public static void WritePlot(IReadOnlyList<SamplingBenchmarkResult> results, string path)
    {
        var charts = new[]
        {
            Chart(results, "attention at the last scale", "us per token and block", r => r.LastScaleAttentionMicrosecondsPerToken),
            Chart(results, "transformer phase above the weights", "peak RSS above load (MB)", r => r.TransformerPeakAboveLoadMb),
        };
        using var surface = SKSurface.Create(new SKImageInfo(charts.Length * ChartW, ChartH, SKColorType.Rgba8888, SKAlphaType.Premul));
        surface.Canvas.Clear(SKColors.White);
        for (int i = 0; i < charts.Length; i++)
        {
            using var chart = SKBitmap.Decode(charts[i]);
            surface.Canvas.DrawBitmap(chart, i * ChartW, 0);
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.ToArray());
    }

    static byte[] Chart(IReadOnlyList<SamplingBenchmarkResult> results, string title, string yLabel, Func<SamplingBenchmarkResult, double> y)
    {
        var plot = new ScottPlot.Plot();
        foreach (var group in Ordered(results).GroupBy(r => $"{r.Arch}-d{r.Depth}"))
        {
            var points = group.ToArray();
            var line = plot.Add.Scatter(points.Select(r => (double)r.LastScaleTokens).ToArray(), points.Select(y).ToArray());
            line.LegendText = group.Key;
            line.MarkerSize = 7;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Ordered(results).Select(r => (double)r.LastScaleTokens).Distinct().ToArray(),
            Ordered(results).Select(r => $"{r.LastScaleTokens}\n({r.ImageSize} px)").Distinct().ToArray());
        plot.Title(title);
        plot.XLabel("tokens at the last scale");
        plot.YLabel(yLabel);
        plot.ShowLegend();
        return plot.GetImageBytes(ChartW, ChartH, ScottPlot.ImageFormat.Png);
    }

    static IEnumerable<SamplingBenchmarkResult> Ordered(IReadOnlyList<SamplingBenchmarkResult> results) =>
        results.OrderBy(r => r.Arch).ThenBy(r => r.Depth).ThenBy(r => r.ImageSize);
}
