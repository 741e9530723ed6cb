using Mvar.Config;
using Mvar.Transformer;
using static Mvar.Tests.Transformer.ParityData;

namespace Mvar.Tests.Transformer;

public class CheckpointLoadingTests
{
    static void AssertSameWeights(ScaleTransformer a, ScaleTransformer b)
    {
        var sb = b.state_dict();
        foreach (var (k, t) in a.state_dict()) Assert.True(t.eq(sb[k]).all().item<bool>(), k);
    }

    [Theory]
    [InlineData("mvar_wrapped.pth", "mvar_wo_ddp")]
    [InlineData("mvar_trainer.pth", "trainer/mvar_wo_ddp")]
    public void WrappedCheckpointLayoutsLoadViaKeyPath(string file, string key)
    {
        using var wrapped = ScaleTransformer.Load(ModelConfigOf("mvar"), Fixtures.Parity(file), key);
        using var plain = ScaleTransformer.Load(ModelConfigOf("mvar"), Fixtures.Parity("mvar.pth"));
        AssertSameWeights(plain, wrapped);
    }

    [Fact]
    public void SafetensorsCopiesOfTokenizerAndTransformerLoadLikeTheOriginals()
    {
        string dir = Fixtures.TempDir(), vaeSt = Path.Combine(dir, "vae.safetensors"), mvarSt = Path.Combine(dir, "mvar.safetensors");
        Mvar.IO.Checkpoint.SaveStateDict(vaeSt, Mvar.IO.Checkpoint.LoadStateDict(Fixtures.Parity("vae.pth")));
        Mvar.IO.Checkpoint.SaveStateDict(mvarSt, Mvar.IO.Checkpoint.LoadStateDict(Fixtures.Parity("mvar.pth")));
        using var plain = ScaleTransformer.Load(ModelConfigOf("mvar"), Fixtures.Parity("mvar.pth"));
        using var copy = ScaleTransformer.Load(ModelConfigOf("mvar"), mvarSt);
        AssertSameWeights(plain, copy);
        var tokenizerConfig = ModelConfigOf("mvar").Tokenizer;
        using var vaeCopy = Mvar.Tokenizer.VqVaeLoader.Load(tokenizerConfig, vaeSt);
        var sd = Vae.state_dict();
        foreach (var (k, t) in vaeCopy.state_dict()) Assert.True(t.eq(sd[k]).all().item<bool>(), k);
    }

    [Fact]
    public void VarCheckpointLoadsIntoMvarAndBack()
    {
        using var mvar = ScaleTransformer.Load(ModelConfigOf("mvar"), Fixtures.Parity("var.pth"));
        using var var_ = ScaleTransformer.Load(ModelConfigOf("var"), Fixtures.Parity("mvar.pth"));
        Assert.Equal(Architecture.Mvar, mvar.Pattern.Arch);
        Assert.Equal(Architecture.Var, var_.Pattern.Arch);
    }

    [Fact]
    public void CheckpointNotFittingTheConfigListsEveryMismatchInOneMessage()
    {
        var c = ModelConfigOf("var");
        var wrong = c with { Transformer = c.Transformer! with { EmbedDim = 96, NumHeads = 3, Depth = 3 } };
        var e = Assert.Throws<CheckpointException>(() => ScaleTransformer.Load(wrong, Fixtures.Parity("var.pth")));
        Assert.Contains("var.pth", e.Message);
        Assert.Contains("shape mismatch", e.Message);
        Assert.Contains("class_emb.weight", e.Message);
        Assert.Contains("missing key(s): blocks.2.", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void MissingCheckpointIsAUserError()
    {
        Assert.ThrowsAny<MvarException>(() => ScaleTransformer.Load(ModelConfigOf("var"), Path.Combine(Fixtures.TempDir(), "nope.pth")));
    }
}
