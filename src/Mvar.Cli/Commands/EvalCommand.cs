using System.CommandLine;
using Mvar.IO;
using Mvar.Metrics;
using Spectre.Console;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar eval</c>: FID, Inception Score, precision and recall of a sample set against a reference set; <c>mvar eval tokenizer</c>
/// (<see cref="TokenizerEvalCommand"/>) measures a tokenizer.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var samples = new Option<string>("--samples")
        {
            Description = "the generated images: an .npz (arr_0, uint8 N x H x W x 3) or a folder of PNG/JPEG",
            Required = true
        };
        var reference = new Option<string>("--reference") { Description = "the real images: an .npz, a folder, or fashion-mnist-test", Required = true };
        var features = new Option<string>("--features")
        {
            Description = "feature network: fashion-mnist (the shipped classifier)",
            DefaultValueFactory = _ => "fashion-mnist"
        };
        var classifier = new Option<string?>("--classifier") { Description = $"weights of the feature network (default: {FashionClassifier.ShippedWeights})" };
        var json = new Option<string?>("--json") { Description = "also write the report as JSON" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "where reference features are cached (default ~/.cache/mvar)" };
        var cmd = new Command("eval", "Score samples against a reference set: FID, Inception Score, precision and recall") { samples, reference, features,
            classifier, json, cacheDir };
        cmd.Subcommands.Add(TokenizerEvalCommand.Create());
        return cmd.WithAction(p =>
        {
            if (p.GetValue(features) != "fashion-mnist")
                throw new
                    MvarException($"unknown feature network \"{p.GetValue(features)}\"; available: fashion-mnist (InceptionV3 weights cannot be "
                    + $"downloaded here)");
            string? jsonPath = p.GetValue(json);
            if (jsonPath != null) TokenizerOptions.CheckWritable(jsonPath);
            using var net = FashionClassifier.Load(p.GetValue(classifier));
            bool progressed = false;
            Mvar.Metrics.EvaluationReport report;
            try
            {
                report = SampleEvaluation.Run(net, p.GetValue(samples)!, p.GetValue(reference)!, p.GetValue(cacheDir),
                    msg => { progressed = true; Console.Error.Write($"\r{msg}   "); });
            }
            finally { if (progressed) Console.Error.WriteLine(); }   // an error starts a line of its own
            var table = new Table().AddColumns("metric", "value");
            table.AddRow("FID (lower is better)", $"{report.Fid:F3}");
            table.AddRow("Inception Score", $"{report.IsMean:F3} ± {report.IsStd:F3}");
            table.AddRow("precision", $"{report.Precision:F4}");
            table.AddRow("recall", $"{report.Recall:F4}");
            table.AddRow("samples / reference", $"{report.Samples} / {report.Reference}{(report.ReferenceFromCache ? " (cached)" : "")}");
            table.AddRow("features", report.Features);
            table.AddRow("time", $"{report.Seconds:F1} s");
            AnsiConsole.Write(table);
            if (jsonPath != null)
                AtomicFile.WriteAllText(jsonPath, ReportJson.Serialize(report));
            return 0;
        });
    }
}
