using Mvar.Cli.Commands;

namespace Mvar.Tests.Cli;

public class ClassSummaryTests
{
    [Theory]
    [InlineData("1 sample of class 3", new long[] { 3 })]
    [InlineData("2 samples of classes 2,4", new long[] { 4, 2 })]
    [InlineData("3 samples of class 7 (3 each)", new long[] { 7, 7, 7 })]
    [InlineData("20 samples of classes 0-9 (2 each)", new long[] { 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9 })]
    [InlineData("6 samples of classes 0,1,5-7 (1-2 each)", new long[] { 5, 6, 7, 0, 1, 5 })]
    public void SmallBatchesListTheirClasses(string expected, long[] classes) => Assert.Equal(expected, ClassSummary.Of(classes));

    [Fact]
    public void ThousandsOfRandomClassesAreCountedNotListed()
    {
        var rng = new Random(0);
        var classes = Enumerable.Range(0, 2000).Select(_ => (long)rng.Next(1000)).Append(0).Append(999).ToArray();
        string s = ClassSummary.Of(classes);
        int distinct = classes.Distinct().Count();
        Assert.StartsWith($"2002 samples of {distinct} classes in 0-999 (1-", s);
        Assert.True(s.Length < 80, s);
    }
}
