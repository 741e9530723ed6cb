using System.CommandLine;
using Mvar.IO;
using Spectre.Console;

namespace Mvar.Cli.Commands;

public static class InspectCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "a .pth (torch.save) or .safetensors file" };
        var key = new Option<string?>("--key") { Description = "key path of the state dict inside the checkpoint, e.g. trainer/mvar_wo_ddp" };
        var cmd = new Command("inspect", "List a checkpoint's tensors, shapes, dtypes, parameter count and matching preset") { checkpoint, key };
        return cmd.WithAction(p =>
        {
            string path = p.GetValue(checkpoint)!;
            var sd = Checkpoint.LoadStateDict(path, p.GetValue(key));
            var table = new Table().AddColumns("tensor", "shape", "dtype", "elements");
            foreach (var (name, t) in sd)
                table.AddRow(Markup.Escape(name), Markup.Escape($"[{string.Join(", ", t.shape)}]"), t.dtype.ToString(), $"{t.numel():N0}");
            AnsiConsole.Write(table);
            var report = CheckpointReport.Of(sd);
            AnsiConsole.MarkupLine($"[bold]{sd.Count}[/] tensors; parameters: [bold]{report.Parameters:N0}[/] ({report.Parameters / 1e6:F1}M)" +
                                   $"{(report.Buffers > 0 ? $"; buffers: {report.Buffers:N0} elements" : "")}");
            AnsiConsole.MarkupLine(report.MatchingPresets.Count > 0
                ? $"matches preset: [green]{string.Join(", ", report.MatchingPresets)}[/]"
                : "matches no built-in preset");
            return 0;
        });
    }
}
