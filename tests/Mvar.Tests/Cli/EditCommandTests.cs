using Mvar.IO;
using Mvar.Sampling;
using Mvar.Tokens;

namespace Mvar.Tests.Cli;

public class EditCommandTests
{
    static readonly string TinyMvar = Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json");

    /// <summary>A 128x128 RGB test image and masks: a centred white box, an empty one, and a 64x64 one.</summary>
    static (string dir, string image, string mask, string empty, string small) Inputs()
    {
        string dir = Fixtures.TempDir();
        var rgb = new byte[128 * 128 * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 7 % 251);
        var mask = new byte[128 * 128];
        for (int y = 40; y < 90; y++) for (int x = 30; x < 98; x++) mask[y * 128 + x] = 255;
        string image = Path.Combine(dir, "in.png"), m = Path.Combine(dir, "m.png"), e = Path.Combine(dir, "e.png"), s = Path.Combine(dir, "s.png");
        ImageFiles.WritePng(rgb, 128, 128, 3, image);
        ImageFiles.WritePng(mask, 128, 128, 1, m);
        ImageFiles.WritePng(new byte[128 * 128], 128, 128, 1, e);
        ImageFiles.WritePng(Enumerable.Repeat((byte)255, 64 * 64).ToArray(), 64, 64, 1, s);
        return (dir, image, m, e, s);
    }

    static string[] Base(string model, string image, params string[] more) =>
        ["edit", "--config", TinyMvar, "--vae", Fixtures.Parity("vae.pth"), "--model", Fixtures.Parity(model), image, "--top-k", "20", .. more];

    [Theory]
    [InlineData("mvar.pth", "--box", "0.2,0.25,0.8,0.75", "inpaint", "--no-class")]
    [InlineData("var.pth", "--mask", "MASK", "outpaint", "--class=3")]
    public void EditWritesInputMaskAndEditsSideBySide(string model, string regionOption, string region, string mode, string cls)
    {
        var (dir, image, mask, _, _) = Inputs();
        string output = Path.Combine(dir, "out.png");
        var args = Base(model, image, regionOption, region == "MASK" ? mask : region, "--mode", mode, cls, "--count", "3", "--seed", "0", "--out",
            output).ToList();
        if (model == "var.pth") args.AddRange(["--arch", "var"]);
        var r = CliRunner.Run(args.ToArray());
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("scale 6/6 (8x8)", r.StdErr);
        var (_, w, h) = ImageFiles.ReadPixels(output, 3);
        Assert.Equal((5 * 130 + 2, 132), (w, h));   // 5 cells of 128 px with 2 px padding: input, mask, 3 edits
    }

    [Fact]
    public void EditedTokensKeepTheImageTokensOfTheKeptRegionAtEveryScale()
    {
        var (dir, image, _, _, _) = Inputs();
        string imgTokens = Path.Combine(dir, "img.json"), editTokens = Path.Combine(dir, "edit.json");
        var t = CliRunner.Run("tokenize", "--config", TinyMvar, "--vae", Fixtures.Parity("vae.pth"), image, "--tokens-out", imgTokens);
        Assert.True(t.ExitCode == 0, t.StdErr);
        var r = CliRunner.Run(Base("mvar.pth", image, "--box", "0.1,0.2,0.7,0.9", "--count", "2", "--seed", "1",
            "--out", Path.Combine(dir, "out.png"), "--tokens-out", editTokens));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var img = TokenFile.Load(imgTokens).Samples[0].Scales;
        var edits = TokenFile.Load(editTokens).Samples;
        Assert.Equal(new long?[] { 10, 10 }, edits.Select(e => e.Class));   // "no class": the guidance row
        int[] pns = [1, 2, 3, 4, 6, 8];
        using var keep = ZeroShotEditor.BoxKeepMask(8, 0.1, 0.2, 0.7, 0.9, EditMode.Inpaint);
        var masks = ZeroShotEditor.ScaleKeepMasks(keep, pns);
        int generated = 0;
        for (int si = 0; si < pns.Length; si++)
        {
            var m = masks[si][0].data<bool>().ToArray();
            foreach (var e in edits)
                for (int i = 0; i < m.Length; i++)
                    if (m[i]) Assert.Equal(img[si][i], e.Scales[si][i]);
                    else generated++;
        }
        Assert.True(generated > 0);
    }

    [Theory]
    [InlineData("outside [0, 1]", "--box", "0,0,1.2,1")]
    [InlineData("is empty", "--box", "0.5,0,0.5,1")]
    [InlineData("four numbers", "--box", "0,0,1")]
    [InlineData("64x64 but the image is 128x128", "--mask", "SMALL")]
    [InlineData("is empty (no white pixel)", "--mask", "EMPTY")]
    [InlineData("nothing to generate", "--box", "0,0,1,1", "--mode", "outpaint")]
    [InlineData("keeps nothing", "--box", "0,0,1,1")]
    [InlineData("exactly one of --box", "--count", "2")]
    [InlineData("unknown class id 10", "--box", "0,0,.5,.5", "--class", "10")]
    [InlineData("\"x\" is not a class id", "--box", "0,0,.5,.5", "--class", "x")]
    [InlineData("either --class or --no-class", "--box", "0,0,.5,.5", "--class", "1", "--no-class")]
    [InlineData("--mode must be inpaint or outpaint", "--box", "0,0,.5,.5", "--mode", "x")]
    public void BadInputsAreOneLineErrorsWithoutOutput(string expected, params string[] more)
    {
        var (dir, image, _, empty, small) = Inputs();
        string output = Path.Combine(dir, "out.png");
        var args = more.Select(a => a == "SMALL" ? small : a == "EMPTY" ? empty : a).ToArray();
        var r = CliRunner.Run(Base("mvar.pth", image, [.. args, "--out", output]));
        CliRunner.AssertOneLineError(r, expected);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }
}
