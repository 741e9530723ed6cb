using Xunit.Abstractions;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Transformer;

public class VarForwardParityTests(ITestOutputHelper output)
{
    [Fact]
    public void TeacherForcedForwardMatchesOfficialLogitsAndBlockOutputs()
    {
        using var _ = no_grad();
        var exp = Tensors("expected_var.pth");
        var vae = Tensors("expected_vae.pth");
        using var model = Model("var", "var.pth");
        var trace = new List<Tensor>();
        using var logits = model.Forward(exp["label_B"], vae["var_input"], trace: trace);

        AssertClose(exp["cond_BD"], model.ClassEmbedding(exp["label_B"]), 1e-6, "cond_BD");
        AssertClose(exp["fwd_x_BLC_in"], trace[0], 1e-5, "x_BLC_in");
        AssertClose(exp["fwd_block0_out"], trace[1], 1e-4, "block0");
        AssertClose(exp["fwd_block1_out"], trace[2], 1e-4, "block1");
        AssertClose(exp["fwd_logits"], logits, 1e-4, "logits");
        output.WriteLine($"var fwd_logits max|diff| {MaxAbsDiff(logits, exp["fwd_logits"]):g3}, block1 {MaxAbsDiff(trace[2], exp["fwd_block1_out"]):g3}");
        foreach (var t in trace) t.Dispose();
    }
}
