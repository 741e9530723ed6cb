using System.Text.Json.Nodes;
using static Mvar.Tests.Transformer.ParityData;

namespace Mvar.Tests.Cli;

public class SampleCommandTests
{
    static readonly string TinyMvar = Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json");

    static string[] Base(string model, params string[] more) =>
        ["sample", "--config", TinyMvar, "--vae", Fixtures.Parity("vae.pth"), "--model", Fixtures.Parity(model), .. more];

    [Fact]
    public void SeededSampleWritesGridTokensAndProgressionWithTheOfficialTokens()
    {
        string dir = Fixtures.TempDir();
        string grid = Path.Combine(dir, "g.png"), tokens = Path.Combine(dir, "t.json"), prog = Path.Combine(dir, "p.png"), npz = Path.Combine(dir, "s.npz");
        var r = CliRunner.Run(Base("mvar.pth", "--class", "2,4", "--seed", "0", "--cfg", "1.5", "--top-k", "10", "--top-p", "0.9",
            "--out", grid, "--tokens-out", tokens, "--progression", prog, "--npz", npz));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("scale 6/6 (8x8)", r.StdErr);
        Assert.Contains("total", r.StdErr);
        Assert.True(new FileInfo(grid).Length > 0 && new FileInfo(prog).Length > 0);

        var json = JsonNode.Parse(File.ReadAllText(tokens))!;
        Assert.Equal(new[] { 1, 2, 3, 4, 6, 8 }, json["patch_nums"]!.AsArray().Select(n => n!.GetValue<int>()));
        var samples = json["samples"]!.AsArray();
        Assert.Equal(new long[] { 2, 4 }, samples.Select(s => s!["class"]!.GetValue<long>()));
        var exp = Tensors("expected_mvar.pth");
        for (int si = 0; si < 6; si++)
            for (int b = 0; b < 2; b++)
                Assert.Equal(exp[$"ar_sampled_seed0_idx_s{si}"][b].data<long>().ToArray(),
                    samples[b]!["scales"]![si]!.AsArray().Select(v => v!.GetValue<long>()).ToArray());

        // the .npz holds the images of the official final f_hat, as the evaluation suite's uint8 N x H x W x 3
        var arr = Mvar.IO.Npz.Load(npz)["arr_0"];
        Assert.Equal(new long[] { 2, 128, 128, 3 }, arr.shape);
        var official = Mvar.IO.Npz.ToUint8NHWC(Vae.FhatToImg(exp["ar_sampled_seed0_f_hat"]));
        TensorAssert.Close(official.to(TorchSharp.torch.ScalarType.Int32), arr.to(TorchSharp.torch.ScalarType.Int32), 1, "arr_0");
    }

    [Fact]
    public void WithoutClassesEveryClassGetsALabelledRow()
    {
        string dir = Fixtures.TempDir(), config = Path.Combine(dir, "named.json"), grid = Path.Combine(dir, "g.png");
        string[] names = Enumerable.Range(0, 10).Select(i => $"thing {i}").ToArray();
        File.WriteAllText(config, File.ReadAllText(TinyMvar).Replace("\"refine_step\": 4",
            "\"refine_step\": 4, \"class_names\": [" + string.Join(", ", names.Select(n => $"\"{n}\"")) + "]"));
        var r = CliRunner.Run(["sample", "--config", config, "--vae", Fixtures.Parity("vae.pth"), "--model", Fixtures.Parity("mvar.pth"),
            "--count", "2", "--seed", "1", "--top-k", "1", "--out", grid]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("20 samples of classes 0-9 (2 each)", r.StdErr);
        var (px, w, h) = Mvar.IO.ImageFiles.ReadPixels(grid, 3);
        // ten rows of two 128-pixel samples (no enlargement at 128 px), 4-pixel gaps, a label column on the left
        Assert.Equal(10 * (128 + 4) + 4, h);
        Assert.InRange(w, 2 * (128 + 4) + 4 + 30, 2 * (128 + 4) + 4 + 200);
    }

    [Theory]
    [InlineData("unknown class id 12", "--class", "1,12")]
    [InlineData("\"x\" is not a class id", "--class", "x")]
    [InlineData("cfg must be", "--cfg", "-0.5")]
    [InlineData("top-p must be within [0, 1]", "--top-p", "1.2")]
    [InlineData("--top-k must be within [0, ", "--top-k", "-1")]
    [InlineData("--arch must be var or mvar, got \"gpt\"", "--arch", "gpt")]
    public void BadArgumentsAreOneLineErrorsWithoutOutput(string expected, string option, string value)
    {
        string output = Path.Combine(Fixtures.TempDir(), "g.png");
        var r = CliRunner.Run(Base("mvar.pth", option, value, "--out", output));
        CliRunner.AssertOneLineError(r, expected);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("mvar")]
    [InlineData("var")]
    public void TheShippedModelSamplesEveryClassWithoutFurtherArguments(string arch)
    {
        string grid = Path.Combine(Fixtures.TempDir(), "g.png");
        var r = CliRunner.Run(["sample", "--preset", "fashion-mnist", "--arch", arch, "--seed", "0", "--out", grid]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains($"loaded {arch} (depth 4", r.StdErr);
        Assert.Contains("10 samples of classes 0-9, seed", r.StdErr);
        var (_, _, h) = Mvar.IO.ImageFiles.ReadPixels(grid, 3);
        Assert.Equal(10 * (96 + 4) + 4, h);            // ten labelled rows of 32x32 samples enlarged 3x
    }

    [Fact]
    public void ABuiltInConfigurationNeedsCheckpoints()
    {
        string output = Path.Combine(Fixtures.TempDir(), "g.png");
        CliRunner.AssertOneLineError(CliRunner.Run(["sample", "--preset", "var-d16", "--out", output]), "give --vae");
        CliRunner.AssertOneLineError(CliRunner.Run(["sample", "--preset", "var-d16", "--vae", Fixtures.Parity("vae.pth"), "--out", output]), "give --model");
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void CheckpointNotFittingTheConfigListsTheMismatchesOnOneLine()
    {
        string dir = Fixtures.TempDir(), config = Path.Combine(dir, "wide.json"), output = Path.Combine(dir, "g.png");
        File.WriteAllText(config, File.ReadAllText(TinyMvar).Replace("\"embed_dim\": 64", "\"embed_dim\": 96"));
        var r = CliRunner.Run(["sample", "--config", config, "--vae", Fixtures.Parity("vae.pth"), "--model", Fixtures.Parity("var.pth"), "--out", output]);
        CliRunner.AssertOneLineError(r, "var.pth does not fit the model");
        Assert.Contains("pos_1LC (checkpoint [1, 130, 64], model [1, 130, 96])", r.StdErr);
        Assert.False(File.Exists(output));
    }
}
