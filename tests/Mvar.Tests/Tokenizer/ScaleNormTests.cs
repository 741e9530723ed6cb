using Mvar.Config;
using Mvar.IO;
using Mvar.Sampling;
using Mvar.Tokenizer;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Tokenizer;

/// <summary>
/// tokenizer.scale_norm: each scale's residual divided by its running RMS before the codebook lookup and the code
/// multiplied back. Off, the quantizer is the official one (no extra key); on, every path that turns tokens into
/// features (encode, decode, the transformer's input, sampling) applies the same per-scale factor.
/// </summary>
[Collection("TinyTokenizer")]
public class ScaleNormTests
{
    static TokenizerConfig Tiny => TinyTokenizer.Config;
    const string Key = "quantize.scale_rms_S";
    static readonly float[] Rms = [5f, 4f, 3f, 2f, 1.5f, 0.5f];

    /// <summary>The parity tokenizer's weights in a scale-norm tokenizer with the given running RMS per scale.</summary>
    static VqVae WithScaleNorm(float[] rms)
    {
        var vae = new VqVae(Tiny with { ScaleNorm = true });
        var sd = Checkpoint.LoadStateDict(Fixtures.Parity("vae.pth"));
        sd[Key] = tensor(rms);
        StateDictLoader.LoadInto(vae, sd, "parity vae.pth + scale_rms_S");
        return vae;
    }

    [Fact]
    public void OffByDefaultWithNoExtraKeyOnAddsOneBufferPerScale()
    {
        Assert.DoesNotContain(Key, TinyTokenizer.Vae.state_dict().Keys);
        Assert.False(TinyTokenizer.Vae.Quantize.ScaleNorm);
        using var vae = new VqVae(Tiny with { ScaleNorm = true });
        Assert.Equal(new long[] { 6 }, vae.state_dict()[Key].shape);
        Assert.Equal(TinyTokenizer.Vae.ParameterCount(), vae.ParameterCount());   // a buffer, not a parameter
        Assert.True(CheckpointReport.IsBuffer(Key));
    }

    [Fact]
    public void UniformRmsWithLinearPhiIsTheOfficialQuantizerOnScaledFeatures()
    {
        // phi without bias is linear, so quantizing f with every RMS = a must pick exactly the codes the official
        // quantizer picks for f / a, and give a times its f_hat
        const float a = 3.5f;
        using var scope = NewDisposeScope();
        using var norm = WithScaleNorm(Enumerable.Repeat(a, 6).ToArray());
        using var plain = VqVaeLoader.Load(Tiny, Fixtures.Parity("vae.pth"));
        using (no_grad())
            foreach (var m in new[] { norm, plain })
                foreach (var (name, p) in m.named_parameters())
                    if (name.StartsWith("quantize.quant_resi.", StringComparison.Ordinal) && name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
        var f = TinyTokenizer.E("f");
        var ownIdx = norm.Quantize.FToIdxBlOrFhat(f, toFhat: false);
        var officialIdx = plain.Quantize.FToIdxBlOrFhat(f / a, toFhat: false);
        for (int si = 0; si < 6; si++) Assert.True(ownIdx[si].eq(officialIdx[si]).all().item<bool>(), $"scale {si}");
        var ownFhat = norm.Quantize.FToIdxBlOrFhat(f, toFhat: true)[^1];
        AssertClose(plain.Quantize.FToIdxBlOrFhat(f / a, toFhat: true)[^1] * a, ownFhat, 1e-5, "f_hat");
    }

    [Fact]
    public void EncodeDecodeAndTransformerInputAgreeOnTheFactors()
    {
        using var scope = NewDisposeScope();
        using var vae = WithScaleNorm(Rms);
        var f = TinyTokenizer.E("f");
        var f_hats = vae.Quantize.FToIdxBlOrFhat(f, toFhat: true);
        var idx = vae.Quantize.FToIdxBlOrFhat(f, toFhat: false);
        // decoding the tokens rebuilds the encoder's f_hat, scale by scale
        var decoded = vae.Quantize.EmbedToFhat(vae.IdxBlToEmbed(idx), lastOne: false);
        for (int si = 0; si < 6; si++) AssertClose(f_hats[si], decoded[si], 1e-5, $"f_hat after scale {si}");
        // the teacher-forcing input is the cumulative f_hat area-downsampled to the next scale
        var input = vae.Quantize.IdxBlToVarInput(idx)!;
        long offset = 0;
        int[] pns = vae.PatchNums;
        for (int si = 1; si < 6; si++)
        {
            long n = pns[si] * pns[si];
            var want = nn.functional.interpolate(f_hats[si - 1], [pns[si], pns[si]], mode: InterpolationMode.Area)
                .view(f.shape[0], vae.Config.ZChannels, -1).transpose(1, 2);
            AssertClose(want, input.narrow(1, offset, n), 1e-5, $"input of scale {si}");
            offset += n;
        }
        // and the factors matter: the official decode of the same tokens is another f_hat
        var plainHat = TinyTokenizer.Vae.Quantize.EmbedToFhat(TinyTokenizer.Vae.IdxBlToEmbed(idx), lastOne: true)[0];
        Assert.True(MaxAbsDiff(plainHat, f_hats[^1]) > 0.1);
    }

    [Fact]
    public void SamplingAddsTheScaledCodes()
    {
        using var model = Model("mvar", "mvar.pth");
        using var vae = WithScaleNorm(Rms);
        using var scope = NewDisposeScope();
        var sampler = new ScaleSampler(model, vae);
        using var r = sampler.Sample([1, 7], 0, new SamplingOptions { Seed = 3, TopK = 10 });
        var rebuilt = vae.Quantize.EmbedToFhat(vae.IdxBlToEmbed(r.Tokens), lastOne: true)[0];
        AssertClose(rebuilt, r.FHat, 1e-5, "sampled f_hat");
    }

    [Fact]
    public void RunningRmsStartsAtTheFirstMeasurementThenMoves()
    {
        using var vae = new VqVae(Tiny with { ScaleNorm = true });
        vae.Quantize.UpdateScaleRms(tensor(Rms), first: true);
        Assert.Equal(Rms, vae.Quantize.ScaleRms!.data<float>().ToArray());
        vae.Quantize.UpdateScaleRms(ones(6), first: false, momentum: 0.75);
        Assert.Equal(Rms.Select(x => 0.75f * x + 0.25f).ToArray(), vae.Quantize.ScaleRms!.data<float>().ToArray());
    }

    [Fact]
    public void ACheckpointOfTheOtherKindNamesTheOption()
    {
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "sn.safetensors");
        using (var vae = WithScaleNorm(Rms)) SafeTensors.Save(path, vae.state_dict());
        var e = Assert.Throws<CheckpointException>(() => VqVaeLoader.Load(Tiny, path));
        Assert.Contains("scale_norm", e.Message);
        var e2 = Assert.Throws<CheckpointException>(() => VqVaeLoader.Load(Tiny with { ScaleNorm = true }, Fixtures.Parity("vae.pth")));
        Assert.Contains("scale_norm", e2.Message);
        using var back = VqVaeLoader.Load(Tiny with { ScaleNorm = true }, path);
        Assert.Equal(Rms, back.Quantize.ScaleRms!.data<float>().ToArray());
    }
}
