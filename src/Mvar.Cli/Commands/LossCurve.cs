using Mvar.IO;
using Mvar.Training;

namespace Mvar.Cli.Commands;

/// <summary>The loss curve of a run's metrics.csv as a PNG (ScottPlot).</summary>
public static class LossCurve
{
    public static void Write(string csvPath, string pngPath)
    {
        var loss = CsvLog.ReadColumn(csvPath, Trainer.Loss);
        if (loss.Count == 0) return;
        var plot = new ScottPlot.Plot();
        var sc = plot.Add.Scatter(loss.Select(r => (double)r.step).ToArray(), loss.Select(r => r.value).ToArray());
        sc.LegendText = "training loss";
        sc.MarkerSize = loss.Count > 50 ? 0 : 4;
        var extras = new[] { (TransformerTrainer.MeanLoss, "mean token cross-entropy"), (TokenizerTrainer.Reconstruction, "reconstruction loss") };
        foreach (var (extra, legend) in extras)
        {
            var e = CsvLog.ReadColumn(csvPath, extra);
            if (e.Count == 0) continue;
            var s = plot.Add.Scatter(e.Select(r => (double)r.step).ToArray(), e.Select(r => r.value).ToArray());
            s.LegendText = legend;
            s.MarkerSize = e.Count > 50 ? 0 : 4;
        }
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend();
        var bytes = plot.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(pngPath, bytes);
    }
}
