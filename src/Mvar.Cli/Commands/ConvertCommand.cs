using System.CommandLine;
namespace Mvar.Cli.Commands;

public static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("IN") { Description = "a .pth or .safetensors checkpoint" };
        var output = new Argument<string>("OUT") { Description = "the converted file (.safetensors or .pth)" };
        var key = new Option<string?>("--key") { Description = "key path of the state dict inside IN" };
        var cmd = new Command("convert", "Convert a checkpoint between .pth and .safetensors") { input, output, key };
        return cmd.WithAction(p => throw new NotImplementedException());
    }
}
