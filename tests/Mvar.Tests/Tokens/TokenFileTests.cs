using Mvar.Tokens;

namespace Mvar.Tests.Tokens;

/// <summary>The token file: version 2 round trip, the two older layouts it still reads, one clear error per fault.</summary>
public class TokenFileTests
{
    static readonly int[] Pns = [1, 2];

    static string Write(string json)
    {
        string path = Path.Combine(Fixtures.TempDir(), "t.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void VersionTwoRoundTripsEveryLabel()
    {
        var file = new TokenFile(Pns, [
            new TokenFile.Entry([[5], [1, 2, 3, 4]], File: "dir/a \"b\".png"),
            new TokenFile.Entry([[7], [0, 0, 9, 9]], Class: 3),
            new TokenFile.Entry([[8], [4, 3, 2, 1]], File: "c.png", Class: 0),
            new TokenFile.Entry([[6]]),   // the first scale alone
        ]);
        string path = Path.Combine(Fixtures.TempDir(), "t.json");
        file.Save(path);
        Assert.Contains("\"version\": 2", File.ReadAllText(path));
        var back = TokenFile.Load(path);
        Assert.Equal(Pns, back.PatchNums);
        Assert.Equal(file.Samples.Count, back.Samples.Count);
        for (int i = 0; i < file.Samples.Count; i++)
        {
            Assert.Equal(file.Samples[i].File, back.Samples[i].File);
            Assert.Equal(file.Samples[i].Class, back.Samples[i].Class);
            Assert.Equal(file.Samples[i].Scales, back.Samples[i].Scales);
        }
    }

    [Fact]
    public void AnEmptyFileRoundTrips() =>
        Assert.Empty(TokenFile.Load(Write(new TokenFile(Pns, []).ToJson())).Samples);

    [Fact]
    public void ReadsTheLayoutOfTokenizeBeforeVersionTwo()
    {
        var t = TokenFile.Load(Write("""{"patch_nums": [1, 2], "images": [{"file": "a.png", "scales": [[5], [1, 2, 3, 4]]}]}"""));
        Assert.Equal(("a.png", (long?)null), (t.Samples[0].File, t.Samples[0].Class));
        Assert.Equal(new long[] { 1, 2, 3, 4 }, t.Samples[0].Scales[1]);
    }

    [Fact]
    public void ReadsTheLayoutOfSampleBeforeVersionTwo()
    {
        var t = TokenFile.Load(Write("""{"patch_nums": [1, 2], "samples": [{"class": 4, "scales": [[5], [1, 2, 3, 4]]}, {"class": null, "scales": [[0]]}]}"""));
        Assert.Equal((null, (long?)4), (t.Samples[0].File, t.Samples[0].Class));
        Assert.Null(t.Samples[1].Class);
    }

    [Theory]
    [InlineData("not json", "malformed token file")]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("""{"version": 3, "patch_nums": [1], "samples": []}""", "version 3 is not supported")]
    [InlineData("""{"samples": []}""", "patch_nums is missing")]
    [InlineData("""{"patch_nums": [1, 0], "samples": []}""", "positive sides")]
    [InlineData("""{"patch_nums": [1, "2"], "samples": []}""", "patch_nums: \"2\" is not an integer")]
    [InlineData("""{"patch_nums": [1, 2]}""", "\"samples\" is missing")]
    [InlineData("""{"patch_nums": [1, 2], "samples": {}}""", "samples is not a list")]
    [InlineData("""{"patch_nums": [1, 2], "samples": [3]}""", "samples[0] is not an object")]
    [InlineData("""{"patch_nums": [1, 2], "samples": [{"class": 1}]}""", "samples[0]: \"scales\" is missing")]
    [InlineData("""{"patch_nums": [1, 2], "samples": [{"class": 1.5, "scales": [[1]]}]}""", "samples[0]: \"class\": 1.5 is not an integer")]
    [InlineData("""{"patch_nums": [1, 2], "images": [{"file": 7, "scales": [[1]]}]}""", "images[0]: \"file\" is not a string")]
    [InlineData("""{"patch_nums": [1, 2], "images": [{"file": "a.png", "scales": [[1], [1, 2, 3]]}]}""",
        "images[0] (a.png): scale 1 has 3 tokens, expected 4 (2x2)")]
    [InlineData("""{"patch_nums": [1, 2], "samples": [{"scales": [[1], [1, 2, 3, 4], [1]]}]}""", "samples[0]: 3 scales but patch_nums has 2")]
    [InlineData("""{"patch_nums": [1, 2], "samples": [{"scales": [[1], [1, 2, "x", 4]]}]}""", "samples[0]: scale 1: \"x\" is not an integer")]
    [InlineData("""{"patch_nums": [1, 2], "samples": [{"scales": [[-1]]}]}""", "samples[0]: scale 0 has a negative token")]
    public void EachMalformedInputIsOneErrorNamingTheFileAndTheFault(string json, string fault)
    {
        string path = Write(json);
        var e = Assert.Throws<MvarException>(() => TokenFile.Load(path));
        Assert.StartsWith($"malformed token file {path}: ", e.Message);
        Assert.Contains(fault, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void AMissingFileIsAnMvarException() =>
        Assert.Throws<MvarException>(() => TokenFile.Load(Path.Combine(Fixtures.TempDir(), "none.json")));
}
