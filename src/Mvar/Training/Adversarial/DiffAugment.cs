using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Training.Adversarial;

/// <summary>
/// Differentiable augmentation of the discriminator's inputs (Zhao et al. 2020, DiffAugment), applied alike to real
/// and reconstructed images so the discriminator cannot tell them apart by the augmentation: a random integer
/// translation of up to 1/8 of the side (zero fill) and a random cutout of a square half the side (zeroed), each
/// row with its own draw. The draws are made for the whole global batch from the given generator (so a row's
/// transform does not depend on how the batch is split over ranks) and <see cref="Apply"/> takes rows
/// [offset, offset + B) of them. Gradients pass to the images.
/// </summary>
public sealed class DiffAugment
{
    readonly bool translation, cutout;

    public DiffAugment(IEnumerable<string> kinds)
    {
        foreach (var k in kinds)
        {
            if (k == "translation") translation = true;
            else if (k == "cutout") cutout = true;
            else throw new ArgumentException($"unknown augmentation \"{k}\" (translation, cutout)");
        }
    }

    public bool IsIdentity => !translation && !cutout;

    /// <summary>One draw of every row's transform for a global batch of <paramref name="globalBatch"/> images of side <paramref name="side"/>.</summary>
    public Draw Sample(long globalBatch, long side, Generator gen)
    {
        long shift = (long)(side * 0.125 + 0.5);
        var t_B2 = randint(-shift, shift + 1, new[] { globalBatch, 2 }, generator: gen);
        var c_B2 = randint(0, side, new[] { globalBatch, 2 }, generator: gen);
        return new Draw(t_B2, c_B2);
    }

    /// <summary>Rows [offset, offset + B) of <paramref name="draw"/> applied to the images (B, C, H, W).</summary>
    public Tensor Apply(Tensor x_BChw, Draw draw, long offset = 0)
    {
        if (IsIdentity) return x_BChw;
        long B = x_BChw.shape[0], H = x_BChw.shape[2], W = x_BChw.shape[3];
        using var scope = NewDisposeScope();
        var x = x_BChw;
        if (translation)
        {
            // integer shifts as a nearest-neighbour resampling: exact pixel copies, zeros outside, differentiable
            var t = draw.Translation_B2.narrow(0, offset, B).to_type(ScalarType.Float32);
            var theta = zeros(B, 2, 3);
            theta[.., 0, 0] = tensor(1f); theta[.., 1, 1] = tensor(1f);
            theta[.., 0, 2] = t[.., 0] * (-2.0 / W);
            theta[.., 1, 2] = t[.., 1] * (-2.0 / H);
            var grid = F.affine_grid(theta, new[] { B, x.shape[1], H, W }, align_corners: false);
            x = F.grid_sample(x, grid, mode: GridSampleMode.Nearest, padding_mode: GridSamplePaddingMode.Zeros, align_corners: false);
        }
        if (cutout)
        {
            long half = (long)(Math.Min(H, W) * 0.5 + 0.5) / 2;
            var c = draw.Cutout_B2.narrow(0, offset, B);
            var ys = arange(H).view(1, H, 1);
            var xs = arange(W).view(1, 1, W);
            var cy = c[.., 0].view(B, 1, 1);
            var cx = c[.., 1].view(B, 1, 1);
            var inside = (ys - cy).abs().lt(half).logical_and((xs - cx).abs().lt(half));
            x = x * inside.logical_not().unsqueeze(1).to_type(x.dtype);
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The draws of one step: translation (dx, dy) in pixels and cutout centre (y, x) per row of the global batch.</summary>
    public sealed record Draw(Tensor Translation_B2, Tensor Cutout_B2) : IDisposable
    {
        public void Dispose() { Translation_B2.Dispose(); Cutout_B2.Dispose(); }
    }
}
