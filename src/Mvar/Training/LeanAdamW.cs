using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// TorchSharp's AdamW with a step that frees each parameter's temporaries before the next parameter. The update is
/// the same operations in the same order as TorchSharp's <c>AdamW.step</c> (bitwise the same weights and state, the
/// same state objects), but TorchSharp keeps every parameter's sqrt(exp_avg_sq) and denominator alive until the whole
/// step ends: two extra copies of all weights (2.4 GB for a d16 model) at the peak of every training step.
/// </summary>
public static class LeanAdamW
{
    public static TorchSharp.Modules.AdamW Create(IEnumerable<TorchSharp.Modules.AdamW.ParamGroup> groups, double lr, double beta1, double beta2, double eps,
        double weightDecay) =>
        new AdamW(groups, lr, beta1, beta2, eps, weightDecay);

    /// <summary>
    /// Named AdamW on purpose: TorchSharp's saved optimizer state starts with the optimizer's type name and loading checks
    /// it, so checkpoints stay interchangeable with TorchSharp's own AdamW (runs saved before this class existed resume).
    /// </summary>
    sealed class AdamW(IEnumerable<TorchSharp.Modules.AdamW.ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : TorchSharp.Modules.AdamW(groups, lr, beta1, beta2, eps, weightDecay)
    {
        public override Tensor step(Func<Tensor>? closure = null)
        {
            if (closure is not null) throw new NotSupportedException("this AdamW step takes no closure");
            using var _ = no_grad();
            foreach (var group in ParamGroups.Cast<ParamGroup>())
            {
                var options = (Options)group.Options;
                double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, weightDecay = options.weight_decay!.Value;
                double eps = options.eps!.Value, lr = options.LearningRate!.Value;
                if (options.amsgrad == true || options.maximize == true) throw new NotSupportedException("LeanAdamW supports neither amsgrad nor maximize");
                foreach (var param in group.Parameters)
                {
                    using var scope = NewDisposeScope();
                    var grad = param.grad;
                    if (grad is null) continue;
                    var state = (State)_state[param.Handle];
                    state.step += 1;
                    param.mul_(1 - lr * weightDecay);
                    double biasCorrection1 = 1 - Math.Pow(beta1, state.step), biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                    state.exp_avg.mul_(beta1).add_(grad, alpha: 1 - beta1);
                    state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
                    var denom = (state.exp_avg_sq.sqrt() / Math.Sqrt(biasCorrection2)).add_(eps);
                    param.addcdiv_(state.exp_avg, denom, value: -(lr / biasCorrection1));
                }
            }
            return null!;
        }
    }
}
