using Mvar.IO;
using static Mvar.Tests.Tokenizer.TinyTokenizer;
using static TorchSharp.torch;

namespace Mvar.Tests.Tokenizer;

/// <summary>Every tokenizer output of expected_vae.pth (made by the official VQVAE) against ours.</summary>
[Collection("TinyTokenizer")]
public class VqVaeParityTests
{
    const double Atol = 1e-4;

    [Fact]
    public void StateDictHasExactlyTheOfficialKeysAndShapes()
    {
        var official = TorchCheckpoint.LoadStateDict(Fixtures.Parity("vae.pth"));
        var ours = Vae.state_dict();
        Assert.Equal(official.Keys.OrderBy(k => k), ours.Keys.OrderBy(k => k));
        foreach (var (k, v) in official) Assert.True(v.shape.SequenceEqual(ours[k].shape), k);
        Assert.Equal(324, ours.Count);
        // the weights were really copied
        TensorAssert.Equal(official["quantize.embedding.weight"], Vae.Quantize.embedding.weight!, "codebook");
    }

    [Fact]
    public void EncoderAndQuantConvMatch()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        TensorAssert.Close(E("encoder_out"), Vae.EncoderModule.forward(E("img")), Atol, "encoder_out");
        TensorAssert.Close(E("f"), Vae.ImgToF(E("img")), Atol, "f");
    }

    [Fact]
    public void TokenIndicesAreIdentical()
    {
        using var scope = NewDisposeScope();
        var idx = Vae.ImgToIdxBl(E("img"));
        Assert.Equal(6, idx.Count);
        for (int si = 0; si < idx.Count; si++)
        {
            Assert.Equal(ScalarType.Int64, idx[si].dtype);
            TensorAssert.Equal(E($"idx_Bl_s{si}"), idx[si], $"idx_Bl_s{si}");
        }
        TensorAssert.Equal(E("gt_BL"), idx.Concat(), "gt_BL");
    }

    [Fact]
    public void CumulativeFhatPerScaleMatches()
    {
        using var scope = NewDisposeScope();
        var f_hats = Vae.Quantize.FToIdxBlOrFhat(E("f"), toFhat: true);
        for (int si = 0; si < 6; si++) TensorAssert.Close(E($"f_hat_s{si}"), f_hats[si], Atol, $"f_hat_s{si}");
        // and through our own f
        var own = Vae.Quantize.FToIdxBlOrFhat(Vae.ImgToF(E("img")), toFhat: true);
        TensorAssert.Close(E("f_hat_s5"), own[^1], Atol, "f_hat_s5 from img");
        var idx = Vae.Quantize.FToIdxBlOrFhat(E("f"), toFhat: false);
        for (int si = 0; si < 6; si++) TensorAssert.Equal(E($"idx_Bl_s{si}"), idx[si], $"idx from f s{si}");
    }

    [Fact]
    public void DecodedImagesMatch()
    {
        using var scope = NewDisposeScope();
        var ms = Enumerable.Range(0, 6).Select(si => E($"idx_Bl_s{si}")).ToList();
        var f_hat = Vae.Quantize.EmbedToFhat(Vae.IdxBlToEmbed(ms), lastOne: true);
        Assert.Single(f_hat);
        TensorAssert.Close(E("idxBl_to_img_f_hat"), f_hat[0], Atol, "idxBl_to_img_f_hat");
        var img = Vae.IdxBlToImg(ms);
        TensorAssert.Close(E("idxBl_to_img"), img, Atol, "idxBl_to_img");
        Assert.True(img.max().item<float>() <= 1 && img.min().item<float>() >= -1);
        TensorAssert.Close(E("idxBl_to_img"), Vae.ImgToReconstructedImg(E("img")), Atol, "img_to_reconstructed_img");
        TensorAssert.Close(E("idxBl_to_img"), Vae.FhatToImg(E("f_hat_s5")), Atol, "fhat_to_img");
    }

    [Fact]
    public void ProgressionDecodesEachPrefixOfScales()
    {
        using var scope = NewDisposeScope();
        var ms = Enumerable.Range(0, 6).Select(si => E($"idx_Bl_s{si}")).ToList();
        var imgs = Vae.IdxBlToImgs(ms);
        Assert.Equal(6, imgs.Count);
        TensorAssert.Close(E("idxBl_to_img"), imgs[^1], Atol, "last of progression");
        for (int k = 1; k <= 6; k++)   // prefix k of the scales decodes f_hat_s{k-1}
            TensorAssert.Close(Vae.FhatToImg(E($"f_hat_s{k - 1}")), imgs[k - 1], Atol, $"progression {k}");
        TensorAssert.Close(Vae.FhatToImg(E("f_hat_s2")), Vae.IdxBlToImg(ms.Take(3).ToList()), Atol, "first 3 scales");
    }

    [Fact]
    public void TeacherForcingInputMatchesVarAndMvar()
    {
        using var scope = NewDisposeScope();
        var ms = Enumerable.Range(0, 6).Select(si => E($"idx_Bl_s{si}")).ToList();
        var x = Vae.Quantize.IdxBlToVarInput(ms)!;
        TensorAssert.Close(E("var_input"), x, Atol, "var_input");
        TensorAssert.Close(E("mvar_input"), Vae.Quantize.IdxBlToMvarInput(ms)!, Atol, "mvar_input");
        // fewer scales: a prefix of the sequence, with the phi positions si/(SN-1) of the shorter pyramid
        var x3 = Vae.Quantize.IdxBlToMvarInput(ms, SN: 3)!;
        Assert.Equal(new long[] { 2, 4 + 9, 8 }, x3.shape);
        TensorAssert.Close(E("var_input")[.., ..4], x3[.., ..4], Atol, "first scale's phi is phi 0 either way");
    }

    [Fact]
    public void AutoregressiveStepsRebuildFhatAndTheNextInputs()
    {
        using var scope = NewDisposeScope();
        var q = Vae.Quantize;
        int SN = q.PatchNums.Length;
        long B = 2;
        var f_hat = zeros(B, q.Cvae, 8, 8);
        var inputs = new List<Tensor>();
        for (int si = 0; si < SN; si++)
        {
            int pn = q.PatchNums[si];
            var h_BChw = q.embedding.forward(E($"idx_Bl_s{si}")).transpose(1, 2).reshape(B, q.Cvae, pn, pn);
            var (fh, next) = q.GetNextAutoregressiveInput(si, SN, f_hat, h_BChw);
            Assert.Same(f_hat, fh);   // in place, like the official add_
            TensorAssert.Close(E($"f_hat_s{si}"), f_hat, Atol, $"f_hat after step {si}");
            if (si < SN - 1)
            {
                int pnNext = q.PatchNums[si + 1];
                Assert.Equal(new long[] { B, q.Cvae, pnNext, pnNext }, next.shape);
                inputs.Add(next.view(B, q.Cvae, -1).transpose(1, 2));
            }
            else Assert.Same(f_hat, next);
        }
        TensorAssert.Close(E("var_input"), cat(inputs, 1), Atol, "next token maps == var_input");
    }

    [Fact]
    public void TrainingForwardMatchesReconstructionAndLoss()
    {
        using var scope = NewDisposeScope();
        var (rec, loss) = Vae.Forward(E("img"));
        TensorAssert.Close(E("forward_rec"), rec, Atol, "forward_rec");
        TensorAssert.Close(E("forward_vq_loss"), loss, 1e-5, "forward_vq_loss");
        Assert.True(rec.abs().max().item<float>() > 1, "the training forward does not clamp (some values leave [-1, 1])");
    }

    [Fact]
    public void PhiIndexPerScaleIsOfficial()
    {
        Assert.Equal(PhiIndexPerScale, Enumerable.Range(0, 6).Select(si => Vae.Quantize.PhiIndex(si, 6)).ToArray());
    }
}
