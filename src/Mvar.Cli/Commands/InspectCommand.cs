using System.CommandLine;
namespace Mvar.Cli.Commands;

public static class InspectCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "a .pth (torch.save) or .safetensors file" };
        var key = new Option<string?>("--key") { Description = "key path of the state dict inside the checkpoint, e.g. trainer/mvar_wo_ddp" };
        var cmd = new Command("inspect", "List a checkpoint's tensors, shapes, dtypes, parameter count and matching preset") { checkpoint, key };
        return cmd.WithAction(p => throw new NotImplementedException());
    }
}
