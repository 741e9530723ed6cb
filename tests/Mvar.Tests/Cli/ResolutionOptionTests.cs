using System.Text.Json;
using Mvar.Config;
using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Transformer;

namespace Mvar.Tests.Cli;

/// <summary><c>--resolution</c> on the commands that choose a preset, and sampling at 512 px end to end.</summary>
public class ResolutionOptionTests
{
    [Theory]
    [InlineData("300", "resolution must be 256, 512, 1024, got 300")]
    [InlineData("abc", "--resolution")]
    public void ABadResolutionIsOneErrorLine(string value, string expected)
    {
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "sample", "--preset", "mvar-d16", "--resolution", value), expected);
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--preset", "mvar-d16", "--resolution", value), expected);
    }

    [Fact]
    public void ResolutionNeedsABuiltInPresetThatCanTakeIt()
    {
        string config = Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json");
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "sample", "--config", config, "--resolution", "512"),
            "--resolution applies to a built-in --preset");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--preset", "fashion-mnist", "--resolution", "512"), "not to the shipped model fashion-mnist");
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "sample", "--preset", "var-d36-512", "--resolution", "1024"),
            "var-d36-512 is the 512 px checkpoint's configuration");
    }

    [Fact]
    public void AGoodResolutionIsAccepted()
    {
        // parsed and applied: the runs fail on the next check (no --vae; --repeats 0), not on --resolution
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--preset", "mvar-d16", "--resolution", "1024"), "give --vae");
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "sample", "--preset", "var-d16", "--resolution", "512", "--repeats", "0"),
            "repeats must be at least 1, got 0");
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "sample", "--preset", "var-d36-512", "--resolution", "512", "--repeats", "0"),
            "repeats must be at least 1, got 0");
    }

    [Theory]
    [InlineData("mvar")]
    [InlineData("var")]
    public void ATinyModelSamplesAt512PxEndToEnd(string arch)
    {
        // the official 512 px schedule on a tiny tokenizer and transformer with random weights; MVAR's 24x24 and 32x32
        // scales run the tiled neighbourhood attention (kernel 7, refine_step 8 as the presets)
        string dir = Fixtures.TempDir();
        var tiny = ModelConfig.Load(Fixtures.Parity("../parity-tiny-mvar.json"));
        var config = tiny with
        {
            // the decoder's 512x512 convolutions dominate: one residual block per level, no attention in the tokenizer
            Tokenizer = tiny.Tokenizer with { PatchNums = Presets.PatchNums(512), NumResBlocks = 1, UsingSa = false, UsingMidSa = false },
            Transformer = tiny.Transformer! with { Arch = Architectures.Parse(arch), KernelSize = 7, RefineStep = 8 },
        };
        string configPath = Path.Combine(dir, "tiny-512.json"), vae = Path.Combine(dir, "vae.safetensors"), model = Path.Combine(dir, "model.safetensors");
        File.WriteAllText(configPath, config.ToJson());
        using (var v = new VqVae(config.Tokenizer)) Checkpoint.SaveStateDict(vae, v.state_dict());
        using (var m = ScaleTransformer.Create(config)) Checkpoint.SaveStateDict(model, m.state_dict());

        string grid = Path.Combine(dir, "grid.png"), tokens = Path.Combine(dir, "tokens.json"), progression = Path.Combine(dir, "progression.png");
        // the progression (one decode per scale) for one of the two architectures only: the test stays short
        string[] extra = arch == "mvar" ? ["--progression", progression] : [];
        var r = CliRunner.Run(["sample", "--config", configPath, "--vae", vae, "--model", model, "--class", "3", "--seed", "1",
            "--out", grid, "--tokens-out", tokens, .. extra]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var (_, width, height) = ImageFiles.ReadPixels(grid, 3);
        Assert.True(width >= 512 && height >= 512, $"{width}x{height}");
        Assert.Equal(arch == "mvar", File.Exists(progression));
        using var json = JsonDocument.Parse(File.ReadAllText(tokens));
        Assert.Equal(Presets.PatchNums(512), json.RootElement.GetProperty("patch_nums").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        var scales = json.RootElement.GetProperty("samples")[0].GetProperty("scales");
        Assert.Equal(32 * 32, scales[9].GetArrayLength());
    }
}
