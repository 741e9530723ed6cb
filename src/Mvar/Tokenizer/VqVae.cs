using Mvar.Config;
using Mvar.Tokens;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>
/// VAR's multi-scale VQ-VAE tokenizer (the official <c>VQVAE</c> in test mode: eval, no gradients). Parameter names
/// reproduce the official state-dict keys (<c>encoder.down.0.block.1.conv1.weight</c>, <c>quantize.embedding.weight</c>, ...).
/// Images are (B, in_channels, H, W) in [-1, 1]; token maps are <see cref="TokenMaps"/>: (B, pn*pn) int64 per scale, row-major
/// (the decoding methods also take the first k scales alone).
/// </summary>
public sealed class VqVae : nn.Module
{
    readonly Encoder encoder;
    readonly Decoder decoder;
    readonly VectorQuantizer2 quantize;
    readonly Conv2d quant_conv, post_quant_conv;

    public TokenizerConfig Config { get; }
    public VectorQuantizer2 Quantize => quantize;
    public Encoder EncoderModule => encoder;
    public Decoder DecoderModule => decoder;
    public int[] PatchNums => quantize.PatchNums;

    public VqVae(TokenizerConfig config) : base(nameof(VqVae))
    {
        config.Validate();
        Config = config;
        encoder = new Encoder(config);
        decoder = new Decoder(config);
        quantize = new VectorQuantizer2(config);
        int ks = config.QuantConvKs;
        quant_conv = nn.Conv2d(config.ZChannels, config.ZChannels, ks, stride: 1, padding: ks / 2);
        post_quant_conv = nn.Conv2d(config.ZChannels, config.ZChannels, ks, stride: 1, padding: ks / 2);
        RegisterComponents();
        // TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised (torch.empty): set torch's defaults
        using (no_grad())
            foreach (var m in modules().OfType<GroupNorm>()) { m.weight?.fill_(1); m.bias?.zero_(); }
        eval();
        foreach (var p in parameters()) p.requires_grad = false;
        // the weights live as long as the module, even when it is built inside a caller's dispose scope
        foreach (var t in state_dict().Values) t.DetachFromDisposeScope();
    }

    /// <summary>Number of parameters (buffers excluded).</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());

    /// <summary>The feature map the quantizer sees: quant_conv(encoder(img)), (B, Cvae, pn_K, pn_K).</summary>
    public Tensor ImgToF(Tensor img_BChw)
    {
        using var _ = no_grad();
        CheckImage(img_BChw);
        using var enc = encoder.forward(img_BChw);
        return quant_conv.forward(enc);
    }

    /// <summary>The token maps of an image batch: (B, pn*pn) row-major for each pn of patch_nums (or of <paramref name="patchNums"/>).</summary>
    public TokenMaps ImgToIdxBl(Tensor img_BChw, int[]? patchNums = null)
    {
        using var f = ImgToF(img_BChw);
        return new TokenMaps(patchNums ?? PatchNums, quantize.FToIdxBlOrFhat(f, toFhat: false, patchNums));
    }

    /// <summary>Decodes a feature map: decoder(post_quant_conv(f_hat)) clamped to [-1, 1].</summary>
    public Tensor FhatToImg(Tensor f_hat_BChw)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        // the decoder runs channels-last (NHWC strides): oneDNN's convolutions then skip their per-layer reorders
        // (~8% less CPU time at 256 px); the image comes back in the usual contiguous layout
        var z = ToChannelsLast(post_quant_conv.forward(f_hat_BChw));
        return decoder.forward(z).clamp_(-1, 1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The same (B, C, H, W) values with channels-last strides (TorchSharp has no memory_format argument).</summary>
    public static Tensor ToChannelsLast(Tensor x_BChw) => x_BChw.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>Per-scale embedding maps (B, Cvae, pn, pn) of a list of token maps.</summary>
    public List<Tensor> IdxBlToEmbed(IReadOnlyList<Tensor> ms_idx_Bl)
    {
        using var _ = no_grad();
        return ms_idx_Bl.Select(quantize.IdxToEmbedMap).ToList();
    }

    /// <summary>
    /// The image of the given token maps (the first k scales, k &lt;= K): official <c>idxBl_to_img(same_shape=True,
    /// last_one=True)</c>. (B, in_channels, H, W), clamped to [-1, 1].
    /// </summary>
    public Tensor IdxBlToImg(IReadOnlyList<Tensor> ms_idx_Bl)
    {
        using var scope = NewDisposeScope();
        var f_hat = quantize.EmbedToFhat(IdxBlToEmbed(ms_idx_Bl), lastOne: true)[0];
        return FhatToImg(f_hat).MoveToOuterDisposeScope();
    }

    /// <summary>One image per prefix of the scales: decoded from scales 0..s for s = 0..k-1 (<c>last_one=False</c>).</summary>
    public List<Tensor> IdxBlToImgs(IReadOnlyList<Tensor> ms_idx_Bl)
    {
        var result = new List<Tensor>();
        using var scope = NewDisposeScope();
        foreach (var f_hat in quantize.EmbedToFhat(IdxBlToEmbed(ms_idx_Bl), lastOne: false))
        {
            using var step = NewDisposeScope();
            result.Add(FhatToImg(f_hat).MoveToOuterDisposeScope());
        }
        foreach (var r in result) r.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Encode, quantize over all scales and decode (<c>img_to_reconstructed_img(last_one=True)</c>).</summary>
    public Tensor ImgToReconstructedImg(Tensor img_BChw)
    {
        using var scope = NewDisposeScope();
        var f_hats = quantize.FToIdxBlOrFhat(ImgToF(img_BChw), toFhat: true);
        return FhatToImg(f_hats[^1]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The official training forward (<c>VQVAE.forward</c>) evaluated without gradients: the reconstruction
    /// (NOT clamped) and the VQ loss scalar.
    /// </summary>
    public (Tensor rec, Tensor vq_loss) Forward(Tensor img_BChw)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (f_hat, loss) = quantize.Forward(ImgToF(img_BChw));
        var rec = decoder.forward(post_quant_conv.forward(f_hat));
        return (rec.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Switches to training: train mode and gradients for every parameter (the constructor freezes them for inference),
    /// or with <paramref name="decoderOnly"/> for post_quant_conv and the decoder alone (the encoder, quant_conv and the
    /// quantizer stay frozen in eval mode, so the tokens of every image stay what they are).
    /// </summary>
    public void EnableTraining(bool decoderOnly = false)
    {
        train();
        foreach (var p in parameters()) p.requires_grad = !decoderOnly;
        if (!decoderOnly) return;
        encoder.eval(); quant_conv.eval(); quantize.eval();
        foreach (var p in post_quant_conv.parameters().Concat(decoder.parameters())) p.requires_grad = true;
    }

    /// <summary>
    /// The training forward with gradients: reconstruction (not clamped), VQ loss (commitment + codebook), the codes
    /// chosen at every scale, the encoder output f (detached; used to re-initialise unused codes) and the RMS of each
    /// scale's residual (S).
    /// </summary>
    public (Tensor rec, Tensor vq_loss, List<Tensor> idx, Tensor f, Tensor rms_S) TrainingForward(Tensor img_BChw)
    {
        CheckImage(img_BChw);
        using var scope = NewDisposeScope();
        var f = quant_conv.forward(encoder.forward(img_BChw));
        var (f_hat, loss, idx, rms_S) = quantize.TrainingForward(f);
        var rec = decoder.forward(post_quant_conv.forward(f_hat));
        foreach (var t in idx) t.MoveToOuterDisposeScope();
        return (rec.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope(), idx, f.detach().MoveToOuterDisposeScope(), rms_S.MoveToOuterDisposeScope());
    }

    void CheckImage(Tensor img)
    {
        if (img.dim() != 4 || img.shape[1] != Config.InChannels)
            throw new MvarException($"expected an image batch (B, {Config.InChannels}, H, W), got ({string.Join(", ", img.shape)})");
        int s = Config.ImageSize;
        if (img.shape[2] != s || img.shape[3] != s)
            throw new MvarException($"the tokenizer takes {s}x{s} images, got {img.shape[2]}x{img.shape[3]}");
    }
}
