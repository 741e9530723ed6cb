using Mvar.Tokens;
using Mvar.Transformer;
using Xunit.Abstractions;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Transformer;

public class MvarForwardParityTests(ITestOutputHelper output)
{
    /// <summary>Runs the trainer groups of a fixture (fwd_g0..g2 or the own-mask g0) and compares logits and block outputs.</summary>
    void CheckGroups(ScaleTransformer model, Dictionary<string, Tensor> exp, string prefix, int[] groups)
    {
        using var _ = no_grad();
        foreach (int g in groups)
        {
            string p = $"{prefix}{g}_";
            var meta = exp[p + "meta"].data<long>().ToArray();   // prog_ed, L_bg, L_ed, using_nattn
            int first = Enumerable.Range(0, model.Layout.Count).First(si => model.Layout.Begin(si) == meta[1]);
            int end = (int)meta[0] + 1;
            Assert.Equal(meta[2], model.Layout.End(end - 1));
            var trace = new List<Tensor>();
            using var logits = model.Forward(exp["label_B"], exp[p + "x_in"], first, end, trace);
            AssertClose(exp[p + "x_BLC_in"], trace[0], 1e-5, p + "x_BLC_in");
            AssertClose(exp[p + "block0_out"], trace[1], 1e-4, p + "block0");
            AssertClose(exp[p + "block1_out"], trace[2], 1e-4, p + "block1");
            AssertClose(exp[p + "logits"], logits, 1e-4, p + "logits");
            output.WriteLine($"{p}logits scales [{first},{end}) max|diff| {MaxAbsDiff(logits, exp[p + "logits"]):g3}");
            foreach (var t in trace) t.Dispose();
        }
    }

    [Fact]
    public void GroupForwardsMatchOfficial()
    {
        using var model = Model("mvar", "mvar.pth");
        CheckGroups(model, Tensors("expected_mvar.pth"), "fwd_g", [0, 1, 2]);
    }

    [Fact]
    public void MvarFromVarCheckpointWithOfficialFineTuneMaskMatchesStrictLoad()
    {
        var layout = new ScaleLayout(ModelConfigOf("mvar").Tokenizer.PatchNums);
        using var model = Model("mvar", "var.pth", new MvarAttentionPattern(layout, 3, 4, varMaskInSmallGroup: true));
        CheckGroups(model, Tensors("expected_mvar_from_var.pth"), "fwd_g", [0, 1, 2]);
    }

    [Fact]
    public void MvarFromVarCheckpointWithOwnMaskMatchesOwnMaskVariant()
    {
        using var model = Model("mvar", "var.pth");
        CheckGroups(model, Tensors("expected_mvar_from_var.pth"), "fwd_ownmask_g", [0]);
        CheckGroups(model, Tensors("expected_mvar_from_var.pth"), "fwd_g", [1, 2]);   // identical for groups without a mask
    }

    [Fact]
    public void StateDictKeysAndShapesAreTheOfficialOnes()
    {
        foreach (var arch in new[] { "var", "mvar" })
        {
            using var model = ScaleTransformer.Create(ModelConfigOf(arch));
            var ours = model.state_dict();
            var official = Tensors(arch + ".pth");
            Assert.Equal(official.Keys.OrderBy(k => k, StringComparer.Ordinal), ours.Keys.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var (k, t) in official) Assert.Equal(t.shape, ours[k].shape);
        }
    }

    [Fact]
    public void MaskBufferIsBuiltFromTheArchitectureNotTheCheckpoint()
    {
        using var model = Model("mvar", "var.pth");   // var.pth carries VAR's block-causal mask
        var ours = model.state_dict()[ScaleTransformer.MaskBufferKey];
        Assert.True(ours.eq(Tensors("mvar.pth")[ScaleTransformer.MaskBufferKey]).all().item<bool>());
        Assert.False(ours.eq(Tensors("var.pth")[ScaleTransformer.MaskBufferKey]).all().item<bool>());
        using var varModel = ScaleTransformer.Create(ModelConfigOf("var"));
        Assert.True(varModel.state_dict()[ScaleTransformer.MaskBufferKey].eq(Tensors("var.pth")[ScaleTransformer.MaskBufferKey]).all().item<bool>());
    }
}
