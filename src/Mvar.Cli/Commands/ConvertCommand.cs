using System.CommandLine;
using Mvar.IO;

namespace Mvar.Cli.Commands;

public static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("IN") { Description = "a .pth (torch.save) or .safetensors checkpoint" };
        var output = new Argument<string>("OUT") { Description = "the converted file: .safetensors, or .pth for any other extension" };
        var key = new Option<string?>("--key") { Description = "key path of the state dict inside IN, e.g. trainer/mvar_wo_ddp" };
        var cmd = new Command("convert", "Convert a checkpoint's state dict between .pth and .safetensors") { input, output, key };
        return cmd.WithAction(p =>
        {
            string from = p.GetValue(input)!, to = p.GetValue(output)!;
            if (Path.GetFullPath(from) == Path.GetFullPath(to)) throw new MvarException("IN and OUT are the same file");
            var sd = Checkpoint.LoadStateDict(from, p.GetValue(key));
            Checkpoint.SaveStateDict(to, sd);
            Console.WriteLine($"wrote {to}: {sd.Count} tensors, {sd.Values.Sum(t => t.numel()):N0} elements");
            return 0;
        });
    }
}
