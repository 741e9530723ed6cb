using Mvar.Training;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

public class ReconstructionErrorTests
{
    // targets: black (at the lower bound), grey, white (at the upper bound); outputs on both sides of each
    static readonly float[] Img = [-1f, -1f, 0.2f, 0.2f, 1f, 1f, -0.9f];
    static readonly float[] Rec = [-1.3f, -0.8f, 0.5f, -0.1f, 1.4f, 0.7f, -1.2f];

    [Fact]
    public void PlainIsTheDifference()
    {
        using var err = ReconstructionError.Of(tensor(Rec), tensor(Img), bounded: false);
        Assert.Equal(Rec.Zip(Img, (r, i) => r - i).ToArray(), err.data<float>().ToArray());
    }

    [Fact]
    public void BoundedForgivesOnlyOutputsPastTheBoundTheTargetSitsAt()
    {
        using var err = ReconstructionError.Of(tensor(Rec), tensor(Img), bounded: true);
        float[] e = err.data<float>().ToArray();
        // black target, output below -1: shown black, no error; above: the plain error
        Assert.Equal(0f, e[0]);
        Assert.Equal(-0.8f - -1f, e[1], 6);
        // grey target: the plain error on both sides
        Assert.Equal(0.5f - 0.2f, e[2], 6);
        Assert.Equal(-0.1f - 0.2f, e[3], 6);
        // white target, output above 1: no error; below: the plain error
        Assert.Equal(0f, e[4]);
        Assert.Equal(0.7f - 1f, e[5], 6);
        // a target inside the range with an output past -1 keeps its error (clamping the output would hide it)
        Assert.Equal(-1.2f - -0.9f, e[6], 6);
    }

    [Fact]
    public void BoundedKeepsTheGradientOfAnOvershootWhoseTargetIsInside()
    {
        using var rec = tensor(Rec, requires_grad: true);
        ReconstructionError.Of(rec, tensor(Img), bounded: true).abs().sum().backward();
        float[] g = rec.grad!.data<float>().ToArray();
        Assert.Equal([0f, 1f, 1f, -1f, 0f, -1f, -1f], g);
    }

    [Fact]
    public void ShownIsTheClampedOutputOnlyWhenBounded()
    {
        using var rec = tensor(Rec);
        using var shown = ReconstructionError.Shown(rec, bounded: true);
        Assert.Equal(Rec.Select(r => Math.Clamp(r, -1f, 1f)).ToArray(), shown.data<float>().ToArray());
        Assert.Same(rec, ReconstructionError.Shown(rec, bounded: false));
    }
}
