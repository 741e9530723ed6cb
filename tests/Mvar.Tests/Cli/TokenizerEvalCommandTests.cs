using System.Text.Json;
using Mvar.Data;
using Mvar.IO;
using Mvar.Tests.Tokenizer;
using static TorchSharp.torch;

namespace Mvar.Tests.Cli;

/// <summary><c>mvar eval tokenizer</c> end to end (a real process): the shipped Fashion-MNIST tokenizer and the parity-fixture tokenizer.</summary>
[Collection("TinyTokenizer")]
public class TokenizerEvalCommandTests
{
    static readonly string[] Fields =
    [
        "command", "preset", "tokenizer", "tokenizer_sha256", "data", "images", "image_size", "channels", "psnr_db", "psnr_identical_images", "ssim",
        "reference", "reference_images", "features", "rfid", "is_mean", "is_std", "precision", "recall", "vocab_size",
        "codebook_per_scale", "codebook_all_scales", "definitions", "batch", "seconds", "images_per_second", "machine", "threads",
    ];

    [Mvar.Tests.Training.FashionMnistFact]
    public void TheShippedTokenizersReportHasEveryFieldAndScoresAsEvalDoes()
    {
        string dir = Fixtures.TempDir(), recNpz = Path.Combine(dir, "rec.npz"), json = Path.Combine(dir, "t.json"), grid = Path.Combine(dir, "g.png");
        // the reference: the same 300 reconstructions written by reconstruct --data, so the scoring path must give rFID 0
        var r = CliRunner.Run("reconstruct", "--preset", "fashion-mnist", "--data", "fashion-mnist:t10k", "--limit", "300", "--npz", recNpz);
        Assert.True(r.ExitCode == 0, r.StdErr);
        r = CliRunner.Run("eval", "tokenizer", "--preset", "fashion-mnist", "--data", "fashion-mnist:t10k", "--limit", "300", "--batch", "128",
            "--reference", recNpz, "--cache-dir", Path.Combine(dir, "cache"), "--json", json, "--grid", grid);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("PSNR", r.StdOut);
        Assert.Contains("perplexity", r.StdOut);
        Assert.Contains("ETA", r.StdErr);

        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        foreach (var f in Fields)
        {
            Assert.True(report.TryGetProperty(f, out var v), $"no {f} in the report");
            Assert.NotEqual(JsonValueKind.Null, v.ValueKind);
        }
        Assert.Equal(300, report.GetProperty("images").GetInt32());
        using (var f = File.OpenRead(Path.Combine(Fixtures.RepoRoot, "models", "fashion-mnist", "tokenizer.safetensors")))
            Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(f))[..16].ToLowerInvariant(),
                report.GetProperty("tokenizer_sha256").GetString());
        Assert.Equal(300, report.GetProperty("reference_images").GetInt64());
        Assert.InRange(report.GetProperty("rfid").GetDouble(), -1e-3, 1e-3);   // the matrix square root leaves ~1e-5 either side of 0
        Assert.Equal(1.0, report.GetProperty("precision").GetDouble());
        Assert.Equal(1.0, report.GetProperty("recall").GetDouble());

        // PSNR and SSIM of the same reconstructions against the same originals, computed here from the .npz
        using var scope = NewDisposeScope();
        var rec = Npz.Load(recNpz)["arr_0"].narrow(3, 0, 1).permute(0, 3, 1, 2).to(ScalarType.Float64).div(255.0);
        var data = new ImageBatches(new Subset(DataSets.Open("fashion-mnist:t10k"), 300), new Preprocess(32, 1, Pad: true));
        var orig = data.Load(Enumerable.Range(0, 300).ToList(), train: false)!.Value.images.to(ScalarType.Float64).add(1).div(2);
        var mse = (rec - orig).square().mean([1, 2, 3]).data<double>().ToArray();
        double psnr = mse.Average(m => 10 * Math.Log10(1 / m));
        Assert.Equal(psnr, report.GetProperty("psnr_db").GetDouble(), 6);
        Assert.InRange(psnr, 15, 40);
        Assert.Equal(Mvar.Metrics.Ssim.PerImage(orig, rec).Average(), report.GetProperty("ssim").GetDouble(), 6);

        var scales = report.GetProperty("codebook_per_scale").EnumerateArray().ToList();
        Assert.Equal(new[] { 1, 2, 3, 4, 6, 8 }, scales.Select(s => s.GetProperty("side").GetInt32()));
        foreach (var s in scales)
        {
            int side = s.GetProperty("side").GetInt32();
            Assert.Equal(300L * side * side, s.GetProperty("tokens").GetInt64());
            Assert.InRange(s.GetProperty("perplexity").GetDouble(), 1, s.GetProperty("used_codes").GetInt32() + 1e-9);
        }
        var all = report.GetProperty("codebook_all_scales");
        Assert.Equal(300L * (1 + 4 + 9 + 16 + 36 + 64), all.GetProperty("tokens").GetInt64());
        Assert.True(all.GetProperty("used_codes").GetInt32() >= scales.Max(s => s.GetProperty("used_codes").GetInt32()));

        // the grid: 16 originals over their 16 reconstructions, 32x32 cells enlarged 3x
        var (px, w, h) = ImageFiles.ReadPixels(grid, 1);
        Assert.Equal((3 * (16 * 34 + 2), 3 * (2 * 34 + 2)), (w, h));
    }

    [Fact]
    public void AColourImageFolderThroughTheFixtureTokenizerGivesTheLibrarysReconstructionQuality()
    {
        string dir = Fixtures.TempDir(), folder = Path.Combine(dir, "set"), json = Path.Combine(dir, "t.json");
        Directory.CreateDirectory(Path.Combine(folder, "only"));
        var img = TinyTokenizer.E("img");
        for (int i = 0; i < 2; i++) ImageFiles.SavePng(img[i], Path.Combine(folder, "only", $"{i}.png"));
        var r = CliRunner.Run("eval", "tokenizer", "--config", TinyTokenizer.ConfigPath, "--vae", Fixtures.Parity("vae.pth"),
            "--data", folder, "--reference", "none", "--json", json);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(2, report.GetProperty("images").GetInt32());
        Assert.Equal(3, report.GetProperty("channels").GetInt32());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("rfid").ValueKind);

        // the same images (128x128, used as they are), reconstructed by the library and measured here
        using var scope = NewDisposeScope();
        var pngs = cat(Enumerable.Range(0, 2).Select(i => ImageFiles.Load(Path.Combine(folder, "only", $"{i}.png"), 128)).ToList());
        var idx = TinyTokenizer.Vae.ImgToIdxBl(pngs);
        var rec = TinyTokenizer.Vae.IdxBlToImg(idx).add(1).mul(127.5).round().clamp(0, 255).to(ScalarType.Float64).div(255);
        var orig = pngs.to(ScalarType.Float64).add(1).div(2);
        double psnr = (rec - orig).square().mean([1, 2, 3]).data<double>().Average(m => 10 * Math.Log10(1 / m));
        Assert.Equal(psnr, report.GetProperty("psnr_db").GetDouble(), 4);
        Assert.Equal(Mvar.Metrics.Ssim.PerImage(orig, rec).Average(), report.GetProperty("ssim").GetDouble(), 4);
        var first = report.GetProperty("codebook_per_scale")[0];
        var codes = idx[0].data<long>().Distinct().Count();
        Assert.Equal(codes, first.GetProperty("used_codes").GetInt32());
        Assert.Equal(64, report.GetProperty("vocab_size").GetInt32());
    }

    [Fact]
    public void BadInputsFailOnOneLine()
    {
        string dir = Fixtures.TempDir();
        string[] tok = ["--config", TinyTokenizer.ConfigPath, "--vae", Fixtures.Parity("vae.pth")];
        Directory.CreateDirectory(Path.Combine(dir, "set", "c"));
        ImageFiles.SavePng(TinyTokenizer.E("img")[0], Path.Combine(dir, "set", "c", "a.png"));
        string set = Path.Combine(dir, "set");
        CliRunner.AssertOneLineError(CliRunner.Run(["eval", "tokenizer", .. tok, "--data", Path.Combine(dir, "missing"), "--reference", "none"]), "missing");
        CliRunner.AssertOneLineError(CliRunner.Run(["eval", "tokenizer", .. tok, "--data", set, "--reference", "none", "--limit", "0"]),
            "--limit must be at least 1");
        CliRunner.AssertOneLineError(CliRunner.Run(["eval", "tokenizer", .. tok, "--data", set, "--reference", "none", "--batch", "0"]), "--batch");
        CliRunner.AssertOneLineError(CliRunner.Run(["eval", "tokenizer", .. tok, "--data", set]), "give --reference");
        CliRunner.AssertOneLineError(CliRunner.Run(["eval", "tokenizer", .. tok, "--data", set, "--reference", "fashion-mnist-test"]), "too few for rFID");
        CliRunner.AssertOneLineError(CliRunner.Run(["eval", "tokenizer", .. tok, "--data", set, "--reference", "none", "--json", Path.Combine(dir, "no",
            "t.json")]), "t.json");
        CliRunner.AssertOneLineError(CliRunner.Run(["eval", "tokenizer", "--config", TinyTokenizer.ConfigPath, "--vae", Path.Combine(dir, "none.pth"),
            "--data", set, "--reference", "none"]), "none.pth");
        CliRunner.AssertOneLineError(CliRunner.Run("eval", "tokenizer", "--vae", Fixtures.Parity("vae.pth"), "--data", set), "--preset");
        Assert.Equal(new[] { "set" }, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));   // nothing written
    }
}
