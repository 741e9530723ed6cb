using Mvar.IO;
using Mvar.Tests.Tokenizer;
using Mvar.Tokens;
using static TorchSharp.torch;

namespace Mvar.Tests.Cli;

/// <summary><c>mvar tokenize</c> and <c>mvar reconstruct</c> end to end (a real process) on the parity-fixture tokenizer.</summary>
[Collection("TinyTokenizer")]
public class TokenizerCliTests
{
    static readonly string Vae = Fixtures.Parity("vae.pth");
    static string Config => TinyTokenizer.ConfigPath;

    static (int code, string stdout, string stderr) Run(params string[] args)
    {
        var r = CliRunner.Run(args);
        return (r.ExitCode, r.StdOut, r.StdErr);
    }

    /// <summary>The fixture batch written as two 8-bit PNGs (128x128, the tokenizer's size).</summary>
    static (string dir, string a, string b) FixturePngs()
    {
        string dir = Fixtures.TempDir();
        var img = TinyTokenizer.E("img");
        string a = Path.Combine(dir, "a.png"), b = Path.Combine(dir, "b.png");
        ImageFiles.SavePng(img[0], a);
        ImageFiles.SavePng(img[1], b);
        return (dir, a, b);
    }

    static void AssertOneLineError(int code, string stderr, params string[] mentions)
    {
        Assert.Equal(1, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one stderr line, got: {stderr}");
        Assert.StartsWith("mvar: error: ", lines[0]);
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
    }

    [Fact]
    public void TokenizeWritesTheLibrarysTokensForEachImage()
    {
        var (dir, a, b) = FixturePngs();
        string json = Path.Combine(dir, "t.json");
        var (code, _, err) = Run("tokenize", "--config", Config, "--vae", Vae, a, b, "--tokens-out", json);
        Assert.True(code == 0, err);
        var tokens = TokenFile.Load(json);
        Assert.Equal(new[] { 1, 2, 3, 4, 6, 8 }, tokens.PatchNums);
        Assert.Equal(new[] { a, b }, tokens.Samples.Select(e => e.File));
        using var scope = NewDisposeScope();
        foreach (var e in tokens.Samples)
        {
            var idx = TinyTokenizer.Vae.ImgToIdxBl(ImageFiles.Load(e.File!, 128));
            Assert.Equal(6, e.Scales.Length);
            for (int si = 0; si < 6; si++)
                Assert.Equal(idx[si][0].data<long>().ToArray(), e.Scales[si]);
        }
        // 8-bit quantisation of the input barely moves the features: the coarse scales keep the float image's tokens
        Assert.Equal(TinyTokenizer.E("idx_Bl_s0")[0].data<long>().ToArray(), tokens.Samples[0].Scales[0]);
    }

    [Fact]
    public void ReconstructWritesTheDecodedImageAndTheScaleProgression()
    {
        var (dir, a, _) = FixturePngs();
        string rec = Path.Combine(dir, "rec.png"), strip = Path.Combine(dir, "strip.png");
        var (code, _, err) = Run("reconstruct", "--config", Config, "--vae", Vae, a, "--out", rec, "--progression", strip);
        Assert.True(code == 0, err);
        using var scope = NewDisposeScope();
        var vae = TinyTokenizer.Vae;
        var idx = vae.ImgToIdxBl(ImageFiles.Load(a, 128));
        var expected = ImageFiles.TensorToPixels(vae.IdxBlToImg(idx));
        var (px, w, h) = ImageFiles.ReadPixels(rec, 3);
        Assert.Equal((128, 128), (w, h));
        int maxDiff = px.Zip(expected.pixels, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(maxDiff <= 1, $"reconstruction differs from the library's by {maxDiff} levels");
        var s = ImageFiles.ReadPixels(strip, 3);
        Assert.Equal((6 * 130 + 2, 132), (s.width, s.height));
        // the last cell of the strip is the full reconstruction
        int x0 = 5 * 130 + 2, y0 = 2, worst = 0;
        for (int y = 0; y < 128; y++)
            for (int x = 0; x < 128 * 3; x++)
                worst = Math.Max(worst, Math.Abs(s.pixels[((y0 + y) * s.width + x0) * 3 + x] - px[y * 128 * 3 + x]));
        Assert.True(worst <= 1, $"last strip cell differs from --out by {worst}");
        // and the first cell (one token) is much flatter than the full reconstruction
        Assert.True(StdDev(s.pixels, s.width, 2, 2) < StdDev(s.pixels, s.width, x0, 2));
    }

    static double StdDev(byte[] px, int width, int x0, int y0)
    {
        var v = new List<double>();
        for (int y = 0; y < 128; y++) for (int x = 0; x < 128 * 3; x++) v.Add(px[((y0 + y) * width + x0) * 3 + x]);
        double m = v.Average();
        return Math.Sqrt(v.Average(t => (t - m) * (t - m)));
    }

    [Fact]
    public void BadInputsFailOnOneLineWithoutOutput()
    {
        var (dir, a, _) = FixturePngs();
        string json = Path.Combine(dir, "t.json"), png = Path.Combine(dir, "r.png");
        string noTok = Path.Combine(dir, "no-tokenizer.json");
        File.WriteAllText(noTok,
            "{\"transformer\": {\"arch\": \"var\", \"depth\": 2, \"embed_dim\": 64, \"num_heads\": 2, \"num_classes\": 10, \"refine_step\": 4}}");
        string notImage = Path.Combine(dir, "notes.png");
        File.WriteAllText(notImage, "hello");

        var r = Run("tokenize", "--preset", "vae-ch160v4096z32", "--vae", Vae, a, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "vae.pth", "shape mismatch");
        r = Run("tokenize", "--vae", Vae, a, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "--config", "--preset");
        r = Run("tokenize", "--config", Config, "--preset", "vae-ch160v4096z32", "--vae", Vae, a, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "exactly one");
        r = Run("tokenize", "--config", noTok, "--vae", Vae, a, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "no-tokenizer.json", "tokenizer");
        r = Run("tokenize", "--config", Config, "--vae", Vae, a, Path.Combine(dir, "missing.png"), "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "missing.png");
        r = Run("tokenize", "--config", Config, "--vae", Vae, a, notImage, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "notes.png");
        r = Run("tokenize", "--config", Config, "--vae", Path.Combine(dir, "none.pth"), a, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "none.pth");
        r = Run("tokenize", "--config", Path.Combine(dir, "nocfg.json"), "--vae", Vae, a, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "nocfg.json");
        r = Run("tokenize", "--preset", "nope", "--vae", Vae, a, "--tokens-out", json);
        AssertOneLineError(r.code, r.stderr, "nope");
        r = Run("reconstruct", "--preset", "vae-ch160v4096z32", "--vae", Vae, a, "--out", png, "--progression", Path.Combine(dir, "s.png"));
        AssertOneLineError(r.code, r.stderr, "vae.pth");
        r = Run("reconstruct", "--config", Config, "--vae", Vae, notImage, "--out", png);
        AssertOneLineError(r.code, r.stderr, "notes.png");
        r = Run("reconstruct", "--config", Config, "--vae", Vae, a, "--out", Path.Combine(dir, "sub", "r.png"));
        AssertOneLineError(r.code, r.stderr, "r.png");

        // nothing but the inputs is left behind (no partial or temporary files)
        Assert.Equal(new[] { "a.png", "b.png", "no-tokenizer.json", "notes.png" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order());
    }

    [Mvar.Tests.Training.FashionMnistFact]
    public void ADataSetIsReconstructedIntoAnNpzCloseToItsImages()
    {
        string npz = Path.Combine(Fixtures.TempDir(), "rec.npz");
        var (code, _, err) = Run("reconstruct", "--preset", "fashion-mnist", "--data", "fashion-mnist:t10k", "--limit", "300", "--npz", npz);
        Assert.True(code == 0, err);
        Assert.Contains("300 reconstructions", err);
        using var rec = Mvar.IO.Npz.Load(npz)["arr_0"];
        Assert.Equal(new long[] { 300, 32, 32 }, rec.shape[..3]);
        // the same 300 test images, padded to 32x32 as the shipped model's training did
        var data = new Mvar.Data.ImageBatches(new Mvar.Data.Subset(Mvar.Data.DataSets.Open("fashion-mnist:t10k"), 300), new Mvar.Data.Preprocess(32, 1,
            Pad: true));
        var (images, _) = data.Load(Enumerable.Range(0, 300).ToList(), train: false)!.Value;
        var recGrey = Mvar.IO.Npz.FromUint8NHWC(rec).mean([1], keepdim: true);
        double l1 = (recGrey - images).abs().mean().item<float>();
        Assert.InRange(l1, 0.0, 0.12);             // the tokenizer's L1 on training batches ended at 0.074 (in [-1, 1])
    }

    [Fact]
    public void DataSetReconstructionNeedsAnNpzAndNoImage()
    {
        var (code, _, err) = Run("reconstruct", "--config", Config, "--vae", Vae, "--data", "fashion-mnist");
        Assert.NotEqual(0, code);
        Assert.Contains("--data needs --npz", err);
        (code, _, err) = Run("reconstruct", "--config", Config, "--vae", Vae, "x.png", "--data", "fashion-mnist", "--npz", "r.npz");
        Assert.NotEqual(0, code);
        Assert.Contains("give either IMAGE --out or --data --npz", err);
        (code, _, err) = Run("reconstruct", "--config", Config, "--vae", Vae);
        Assert.NotEqual(0, code);
        Assert.Contains("give an IMAGE", err);
    }
}
