using static TorchSharp.torch;

namespace Mvar.Tests.Tokenizer;

/// <summary>
/// The three quantizing paths of VectorQuantizer2 (tokens / f_hat, the forward without gradients, the training forward
/// with them) run one shared quantization step, so on the same features they must agree bit for bit: the same tokens,
/// the same f_hat and loss. (The parity tests pin the tokens and f_hat to the official code.)
/// </summary>
[Collection("TinyTokenizer")]
public class QuantizeScaleTests
{
    static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void EveryQuantizingPathGivesTheSameTokensAndFhatBitForBit()
    {
        using var scope = NewDisposeScope();
        var q = TinyTokenizer.Vae.Quantize;
        var g = new Generator(7);   // its own generator: tests in other collections draw from the global one meanwhile
        long side = q.PatchNums[^1];
        var f = randn([3, q.Cvae, side, side], generator: g) * 2;

        var idx = q.FToIdxBlOrFhat(f, toFhat: false);
        var f_hats = q.FToIdxBlOrFhat(f, toFhat: true);
        var (f_hat, loss) = q.Forward(f);
        var (ste, trainLoss, trainIdx, rms_S) = q.TrainingForward(f.clone().requires_grad_(true));

        Assert.Equal(q.PatchNums.Length, idx.Count);
        for (int si = 0; si < idx.Count; si++)
        {
            Assert.Equal(new long[] { 3, q.PatchNums[si] * q.PatchNums[si] }, idx[si].shape);
            Assert.True(Same(idx[si], trainIdx[si]), $"tokens of scale {si}");
        }
        Assert.True(Same(f_hat, ste.detach()), "f_hat of the two forwards");
        Assert.True(Same(loss, trainLoss.detach()), "vq loss of the two forwards");
        Assert.True(f_hats[^1].allclose(f_hat, rtol: 0, atol: 1e-5), "f_hat after the last scale");   // STE: (f_hat - f) + f
        Assert.True((rms_S > 0).all().item<bool>());
    }

    [Fact]
    public void FewerScalesQuantizeTheFirstOnesAlike()
    {
        using var scope = NewDisposeScope();
        var q = TinyTokenizer.Vae.Quantize;
        var g = new Generator(11);
        long side = q.PatchNums[^1];
        var f = randn([2, q.Cvae, side, side], generator: g);
        var all = q.FToIdxBlOrFhat(f, toFhat: false);
        var four = q.FToIdxBlOrFhat(f, toFhat: false, patchNums: [q.PatchNums[0], q.PatchNums[1], q.PatchNums[2], (int)side]);
        Assert.Equal(4, four.Count);
        for (int si = 0; si < 2; si++) Assert.True(Same(all[si], four[si]), $"scale {si}");
    }
}
