using static TorchSharp.torch;

namespace Mvar.Training.Adversarial;

/// <summary>
/// An exponential moving average of a module's trainable parameters (buffers and frozen parameters copied), kept in
/// a second module of the same shape: after every step avg = decay * avg + (1 - decay) * current. The average is what
/// a tokenizer run exports. A frozen parameter is copied, not averaged: decay * w + (1 - decay) * w rounds to a value a
/// few ulps from w, which would move the frozen encoder of a decoder-only run (and so the tokens of some images).
/// </summary>
public sealed class WeightEma
{
    readonly List<(Tensor avg, Tensor cur)> parameters, buffers;
    public double Decay { get; }

    public WeightEma(nn.Module average, nn.Module current, double decay)
    {
        Decay = decay;
        var a = average.state_dict();
        var c = current.state_dict();
        var paramNames = current.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToHashSet();
        parameters = new(); buffers = new();
        foreach (var (k, v) in c) (paramNames.Contains(k) ? parameters : buffers).Add((a[k], v));
        CopyAll();
    }

    /// <summary>avg := current (at the start of a run).</summary>
    public void CopyAll()
    {
        using var _ = no_grad();
        foreach (var (a, c) in parameters.Concat(buffers)) a.copy_(c);
    }

    public void Update()
    {
        using var _ = no_grad();
        foreach (var (a, c) in parameters) a.mul_(Decay).add_(c, alpha: 1 - Decay);
        foreach (var (a, c) in buffers) a.copy_(c);
    }
}
