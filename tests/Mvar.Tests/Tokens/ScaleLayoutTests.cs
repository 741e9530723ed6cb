using Mvar.Tokens;

namespace Mvar.Tests.Tokens;

public class ScaleLayoutTests
{
    [Fact]
    public void OffsetsSidesAndLevelsOfEveryScale()
    {
        var layout = new ScaleLayout([1, 2, 3]);
        Assert.Equal((3, 14, 1), (layout.Count, layout.L, layout.FirstL));
        Assert.Equal(new[] { (0, 1), (1, 5), (5, 14) }, Enumerable.Range(0, 3).Select(si => (layout.Begin(si), layout.End(si))));
        Assert.Equal(3, layout.Side(2));
        Assert.Equal(new long[] { 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2 }, layout.LevelOfPosition());
    }

    [Fact]
    public void NoScalesIsRefused() => Assert.Throws<ArgumentException>(() => new ScaleLayout([]));
}
