using Mvar.IO;

namespace Mvar.Tests.Cli;

public class CheckpointCommandsTests
{
    [Fact]
    public void InspectListsTensorsAndCounts()
    {
        var r = CliRunner.Run("inspect", Fixtures.Parity("mvar_trainer.pth"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("blocks.1.attn.mat_qkv.weight", r.StdOut);
        Assert.Contains("[192, 64]", r.StdOut);
        // 38 tensors; buffers lvl_1L (130) + attn_bias_for_masking (130*130) + 2 zero_k_bias (64 each)
        Assert.Contains("38 tensors", r.StdOut);
        Assert.Contains("buffers: 17,158", r.StdOut);
    }

    [Fact]
    public void ConvertRoundTripsThroughSafetensors()
    {
        string dir = Fixtures.TempDir(), st = Path.Combine(dir, "m.safetensors"), pth = Path.Combine(dir, "m.pth");
        Assert.Equal(0, CliRunner.Run("convert", Fixtures.Parity("mvar_wrapped.pth"), st).ExitCode);
        Assert.Equal(0, CliRunner.Run("convert", st, pth).ExitCode);
        var original = Checkpoint.LoadStateDict(Fixtures.Parity("mvar.pth"));
        var back = Checkpoint.LoadStateDict(pth);
        Assert.Equal(original.Keys, back.Keys);
        foreach (var (k, t) in original) TensorAssert.Equal(t, back[k], k);
    }

    [Fact]
    public void BadInputsGiveOneLineAndNoOutputFile()
    {
        string dir = Fixtures.TempDir(), outFile = Path.Combine(dir, "out.safetensors");
        CliRunner.AssertOneLineError(CliRunner.Run("inspect", Path.Combine(dir, "missing.pth")), "not found");
        CliRunner.AssertOneLineError(CliRunner.Run("inspect", Fixtures.Parity("mvar_trainer.pth"), "--key", "trainer/nothing"), "no key 'nothing'");

        string corrupt = Path.Combine(dir, "corrupt.pth");
        File.WriteAllBytes(corrupt, File.ReadAllBytes(Fixtures.Parity("var.pth"))[..5000]);
        CliRunner.AssertOneLineError(CliRunner.Run("convert", corrupt, outFile), "corrupt.pth");
        Assert.False(File.Exists(outFile));
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }
}
