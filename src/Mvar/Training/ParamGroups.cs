using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>The official <c>filter_params</c>: no weight decay for 1-D tensors, biases and the nowd_keys names.</summary>
public static class ParamGroups
{
    public static readonly string[] NoWdKeys =
    [
        "cls_token", "start_token", "task_token", "cfg_uncond", "pos_embed", "pos_1LC", "pos_start", "start_pos",
        "lvl_embed", "gamma", "beta", "ada_gss", "moe_bias", "scale_mul",
    ];

    public static bool NoDecay(string name, Parameter p) =>
        p.dim() == 1 || name.EndsWith("bias", StringComparison.Ordinal) || NoWdKeys.Any(name.Contains);

    /// <summary>(decayed, not decayed) trainable parameters with their names, in module order.</summary>
    public static (List<(string name, Parameter p)> decay, List<(string name, Parameter p)> noDecay) Split(nn.Module module)
    {
        var d = new List<(string, Parameter)>(); var nd = new List<(string, Parameter)>();
        foreach (var (name, p) in module.named_parameters())
        {
            if (!p.requires_grad) continue;
            (NoDecay(name, p) ? nd : d).Add((name, p));
        }
        return (d, nd);
    }
}
