using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// The per-pixel error a reconstruction loss sees. Plain: <c>rec - img</c>. Bounded (<c>training.rec_bounded</c>):
/// as the image is shown, i.e. clamped to [-1, 1]: where the target sits at a bound (Fashion-MNIST's exactly black
/// background), an output beyond that bound is shown exactly and costs nothing, so the decoder can aim past it
/// instead of scattering around it (the faint haze L1 alone leaves); everywhere else the error and its gradient are
/// the plain ones, so an overshooting pixel whose target is inside the range is still pulled back (clamping the
/// output itself would cut that gradient).
/// </summary>
public static class ReconstructionError
{
    public static Tensor Of(Tensor rec, Tensor img, bool bounded)
    {
        var err = rec - img;
        if (!bounded) return err;
        using var scope = NewDisposeScope();
        var atLow = img.le(-1);
        var atHigh = img.ge(1);
        err = where(atLow, err.clamp_min(0), err);
        err = where(atHigh, err.clamp_max(0), err);
        return err.MoveToOuterDisposeScope();
    }

    /// <summary>The image a discriminator or a perceptual loss should see: the output as shown (bounded) or raw.</summary>
    public static Tensor Shown(Tensor rec, bool bounded) => bounded ? rec.clamp(-1, 1) : rec;
}
