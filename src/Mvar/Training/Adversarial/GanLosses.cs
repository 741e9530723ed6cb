using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Training.Adversarial;

/// <summary>The losses of VQGAN-style adversarial training (taming-transformers' <c>vqperceptual.py</c>).</summary>
public static class GanLosses
{
    /// <summary>The discriminator's hinge loss: (mean relu(1 - D(real)) + mean relu(1 + D(fake))) / 2.</summary>
    public static Tensor DiscriminatorHinge(Tensor logitsReal, Tensor logitsFake) =>
        (F.relu(1.0 - logitsReal).mean() + F.relu(1.0 + logitsFake).mean()) * 0.5;

    /// <summary>The generator's loss: -mean D(fake).</summary>
    public static Tensor GeneratorHinge(Tensor logitsFake) => logitsFake.mean().neg();

    /// <summary>Bounds of VQGAN's adaptive weight as vaex clamps it.</summary>
    public const double AdaptiveMin = 0.015, AdaptiveMax = 1e4;

    /// <summary>
    /// VQGAN's adaptive weight |grad_w recLoss| / (|grad_w ganLoss| + 1e-4) at the decoder's last weight w, clamped to
    /// [<see cref="AdaptiveMin"/>, <see cref="AdaptiveMax"/>] (a plain number: no gradient flows through it). Both
    /// graphs are kept for the backward pass that follows.
    /// </summary>
    public static double AdaptiveWeight(Tensor recLoss, Tensor ganLoss, Tensor lastWeight)
    {
        using var scope = NewDisposeScope();
        var gRec = autograd.grad(new[] { recLoss }, new[] { lastWeight }, retain_graph: true)[0];
        var gGan = autograd.grad(new[] { ganLoss }, new[] { lastWeight }, retain_graph: true)[0];
        double w = gRec.norm().item<float>() / (gGan.norm().item<float>() + 1e-4);
        return Math.Clamp(w, AdaptiveMin, AdaptiveMax);
    }

    /// <summary>
    /// The adversarial factor at a step: 0 before <paramref name="start"/>, then rising linearly to 1 over
    /// <paramref name="warmup"/> steps (at once when 0).
    /// </summary>
    public static double Ramp(long step, long start, long warmup) =>
        step < start ? 0 : warmup <= 0 ? 1 : Math.Min(1.0, (step - start + 1) / (double)warmup);

    /// <summary>
    /// LeCam regularisation (Tseng et al. 2021): mean relu(D(real) - ema_fake)^2 + mean relu(ema_real - D(fake))^2, with
    /// the moving averages of the discriminator's mean outputs.
    /// </summary>
    public static Tensor LeCam(Tensor logitsReal, Tensor logitsFake, double emaReal, double emaFake) =>
        F.relu(logitsReal - emaFake).pow(2).mean() + F.relu(emaReal - logitsFake).pow(2).mean();
}
