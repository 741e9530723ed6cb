using Mvar.Training.Adversarial;
using static TorchSharp.torch;

namespace Mvar.Tests.Training.Adversarial;

public class DiffAugmentTests
{
    static Tensor Images(long b = 6, long side = 16) { using var g = new Generator(7); return rand(new[] { b, 1, side, side }, generator: g); }

    static DiffAugment.Draw Draw(DiffAugment a, long b, long side, ulong seed) { using var g = new Generator(seed); return a.Sample(b, side, g); }

    [Fact]
    public void SameSeedSameTransformOtherSeedOther()
    {
        var aug = new DiffAugment(["translation", "cutout"]);
        using var x = Images();
        using var d1 = Draw(aug, 6, 16, 1); using var d2 = Draw(aug, 6, 16, 1); using var d3 = Draw(aug, 6, 16, 2);
        using var y1 = aug.Apply(x, d1); using var y2 = aug.Apply(x, d2); using var y3 = aug.Apply(x, d3);
        Assert.True(y1.eq(y2).all().item<bool>());
        Assert.False(y1.eq(y3).all().item<bool>());
    }

    [Fact]
    public void TranslationShiftsEachRowByItsOwnWholePixelOffsetWithZeroFill()
    {
        var aug = new DiffAugment(["translation"]);
        using var x = Images(8, 16);
        using var d = Draw(aug, 8, 16, 3);
        using var y = aug.Apply(x, d);
        var t = d.Translation_B2.data<long>().ToArray();
        Assert.True(t.All(v => Math.Abs(v) <= 2));   // 1/8 of 16 px
        Assert.True(t.Distinct().Count() > 1);        // rows draw their own shifts
        for (int b = 0; b < 8; b++)
        {
            long dx = t[2 * b], dy = t[2 * b + 1];
            for (int i = 0; i < 16; i++)
                for (int j = 0; j < 16; j++)
                {
                    long si = i - dy, sj = j - dx;
                    float expected = si is >= 0 and < 16 && sj is >= 0 and < 16 ? x[b, 0, si, sj].item<float>() : 0f;
                    Assert.Equal(expected, y[b, 0, i, j].item<float>(), 5);
                }
        }
    }

    [Fact]
    public void CutoutZeroesASquareOfHalfTheSideAroundItsCentre()
    {
        var aug = new DiffAugment(["cutout"]);
        using var x = ones(4, 1, 16, 16);
        using var d = Draw(aug, 4, 16, 5);
        using var y = aug.Apply(x, d);
        var c = d.Cutout_B2.data<long>().ToArray();
        for (int b = 0; b < 4; b++)
            for (int i = 0; i < 16; i++)
                for (int j = 0; j < 16; j++)
                {
                    bool cut = Math.Abs(i - c[2 * b]) < 4 && Math.Abs(j - c[2 * b + 1]) < 4;
                    Assert.Equal(cut ? 0f : 1f, y[b, 0, i, j].item<float>());
                }
    }

    [Fact]
    public void RowsOfAGlobalDrawDoNotDependOnTheSplit()
    {
        var aug = new DiffAugment(["translation", "cutout"]);
        using var x = Images(6);
        using var d = Draw(aug, 6, 16, 9);
        using var whole = aug.Apply(x, d);
        using var second = aug.Apply(x.narrow(0, 3, 3), d, offset: 3);
        Assert.True(whole.narrow(0, 3, 3).eq(second).all().item<bool>());
    }

    [Fact]
    public void GradientsPassToTheImages()
    {
        var aug = new DiffAugment(["translation", "cutout"]);
        using var x = Images(4).requires_grad_();
        using var d = Draw(aug, 4, 16, 11);
        using var y = aug.Apply(x, d);
        y.sum().backward();
        // each kept output pixel copies one input pixel: the gradient is 0 or 1 and counts the kept pixels
        var g = x.grad!;
        Assert.True(g.ge(0).logical_and(g.le(1)).all().item<bool>());
        Assert.Equal(y.ne(0).sum().item<long>(), (long)g.sum().item<float>());
        Assert.True(g.sum().item<float>() > 0);
    }

    [Fact]
    public void UnknownAugmentationIsRejected() =>
        Assert.Throws<ArgumentException>(() => new DiffAugment(["rotate"]));
}
