using Mvar.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Tokenizer;

/// <summary>
/// VAR's multi-scale residual quantizer. A feature map f (B, Cvae, pn_K, pn_K) is coded as K token maps of sides
/// patch_nums[0..K-1]: at scale si the remaining residual is area-downsampled to pn_si, each position takes the
/// nearest codebook vector (squared distance), the chosen embedding map is bicubic-upsampled to full size, refined by
/// phi and added to f_hat (and subtracted from the residual).
/// </summary>
public sealed class VectorQuantizer2 : nn.Module
{
    readonly nn.Module quant_resi;
    readonly Tensor ema_vocab_hit_SV;
    /// <summary>With <see cref="TokenizerConfig.ScaleNorm"/>: the running RMS of each scale's residual (S); null otherwise.</summary>
    readonly Tensor? scale_rms_S;
    /// <summary>The codebook (vocab_size, Cvae).</summary>
    public readonly Embedding embedding;

    public int VocabSize { get; }
    public int Cvae { get; }
    public int[] PatchNums { get; }
    public double Beta { get; }
    IPhiSelector Phis => (IPhiSelector)quant_resi;

    public VectorQuantizer2(TokenizerConfig c) : base(nameof(VectorQuantizer2))
    {
        VocabSize = c.VocabSize; Cvae = c.ZChannels; PatchNums = c.PatchNums.ToArray(); Beta = c.Beta;
        quant_resi = c.ShareQuantResi switch
        {
            0 => new PhiNonShared(Enumerable.Range(0, PatchNums.Length).Select(_ => Phi.Make(Cvae, c.QuantResi))),
            1 => new PhiShared(Phi.Make(Cvae, c.QuantResi)),
            _ => new PhiPartiallyShared(Enumerable.Range(0, c.ShareQuantResi).Select(_ => Phi.Make(Cvae, c.QuantResi))),
        };
        ema_vocab_hit_SV = zeros(PatchNums.Length, VocabSize);
        if (c.ScaleNorm) scale_rms_S = ones(PatchNums.Length);
        embedding = nn.Embedding(VocabSize, Cvae);
        RegisterComponents();
    }

    /// <summary>Index (into the shared phi list) of the phi applied at scale si of SN.</summary>
    public int PhiIndex(int si, int SN) => Phis.IndexAt(PhiTicks.Position(si, SN));

    /// <summary>phi of scale si applied to h (B, Cvae, h, w).</summary>
    public Tensor ApplyPhi(int si, int SN, Tensor h_BChw) => Phis.At(PhiTicks.Position(si, SN)).forward(h_BChw);

    static Tensor Area(Tensor x_BChw, long side) => F.interpolate(x_BChw, size: [side, side], mode: InterpolationMode.Area);
    static Tensor Bicubic(Tensor x_BChw, long side) =>
        F.interpolate(x_BChw, size: [side, side], mode: InterpolationMode.Bicubic, align_corners: false);

    /// <summary>Token maps (B, pn*pn) row-major of one embedding lookup back to (B, Cvae, pn, pn).</summary>
    public Tensor IdxToEmbedMap(Tensor idx_Bl)
    {
        long B = idx_Bl.shape[0], l = idx_Bl.shape[1];
        long pn = (long)Math.Round(Math.Sqrt(l));
        if (pn * pn != l) throw new MvarException($"a token map of {l} tokens is not square");
        int si = Array.IndexOf(PatchNums, (int)pn);
        if (si < 0 && scale_rms_S is not null) throw new MvarException($"a token map of {pn}x{pn} is none of the scales [{string.Join(",", PatchNums)}]");
        using var e_BlC = si < 0 ? embedding.forward(idx_Bl) : Embed(si, idx_Bl);
        return e_BlC.transpose(1, 2).reshape(B, Cvae, pn, pn);
    }

    /// <summary>Whether each scale's residual is divided by its running RMS before the lookup (Mvar's option).</summary>
    public bool ScaleNorm => scale_rms_S is not null;

    /// <summary>The running residual RMS of every scale (S), or null without <see cref="ScaleNorm"/>.</summary>
    public Tensor? ScaleRms => scale_rms_S;

    /// <summary>
    /// Folds one training step's measured residual RMS per scale (S) into the running values: the first step sets
    /// them, later ones move them by 1 - momentum. Called by the trainer with the mean over all ranks.
    /// </summary>
    public void UpdateScaleRms(Tensor measured_S, bool first, double momentum = 0.99)
    {
        if (scale_rms_S is null) return;
        using var _ = no_grad();
        if (first) scale_rms_S.copy_(measured_S);
        else scale_rms_S.mul_(momentum).add_(measured_S, alpha: 1 - momentum);
    }

    /// <summary>The code vectors of scale si for token indices (any shape): the codebook rows, times the scale's RMS.</summary>
    public Tensor Embed(int si, Tensor idx)
    {
        var e = embedding.forward(idx);
        return scale_rms_S is null ? e : e * scale_rms_S[si];
    }

    /// <summary>The code vectors of scale si for distributions over the vocabulary (B, l, V): probs @ codebook, times the scale's RMS.</summary>
    public Tensor EmbedSoft(int si, Tensor probs_BlV)
    {
        var e = probs_BlV.matmul(embedding.weight!.unsqueeze(0));
        return scale_rms_S is null ? e : e * scale_rms_S[si];
    }

    /// <summary>Nearest codebook entry of each residual row z (N, Cvae) of scale si, by squared distance (as the official addmm).</summary>
    Tensor Nearest(int si, Tensor z_NC)
    {
        using var scope = NewDisposeScope();
        if (scale_rms_S is not null) z_NC = z_NC / scale_rms_S[si];
        var e_VC = embedding.weight!;
        var d_NV = z_NC.square().sum(1, keepdim: true) + e_VC.square().sum(1, keepdim: false);
        d_NV.addmm_(z_NC, e_VC.t(), beta: 1, alpha: -2);
        return d_NV.argmin(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One scale of the residual quantization, the step every quantizing path shares (encoding to tokens or f_hat, the
    /// forward with and without gradients): the residual <paramref name="f_rest"/> (B, Cvae, H, W) area-downsampled to
    /// pn_si (the last scale as is), each position's nearest code, the code map bicubic-upsampled back (the last scale
    /// as is) and refined by phi. Subtracts that map from f_rest in place (without gradients) and returns the scale's
    /// tokens (B, pn*pn) and f_hat plus the map (a new tensor, so gradients flow through it when the caller has them
    /// on). With <paramref name="rms_S"/>, stores the RMS of the downsampled residual at index si.
    /// </summary>
    (Tensor idx_Bl, Tensor f_hat) QuantizeScale(int si, IReadOnlyList<int> pns, Tensor f_rest, Tensor f_hat, Tensor? rms_S = null)
    {
        long B = f_rest.shape[0], C = f_rest.shape[1], H = f_rest.shape[2], pn = pns[si];
        bool last = si == pns.Count - 1;
        Tensor idx_N;
        using (no_grad())
        {
            var rest = last ? f_rest : Area(f_rest, pn);
            if (rms_S is not null) rms_S[si] = rest.square().mean().sqrt();
            idx_N = Nearest(si, rest.permute(0, 2, 3, 1).reshape(-1, C));
        }
        var h_BChw = Embed(si, idx_N.view(B, pn, pn)).permute(0, 3, 1, 2);
        h_BChw = last ? h_BChw.contiguous() : Bicubic(h_BChw, H).contiguous();
        h_BChw = ApplyPhi(si, pns.Count, h_BChw);
        using (no_grad()) f_rest.sub_(h_BChw.detach());
        return (idx_N.reshape(B, pn * pn), f_hat + h_BChw);
    }

    /// <summary>
    /// Quantizes f (B, Cvae, H, W). Returns per scale either the token indices (B, pn*pn) or, with
    /// <paramref name="toFhat"/>, the cumulative f_hat (B, Cvae, H, W) after that scale.
    /// </summary>
    public List<Tensor> FToIdxBlOrFhat(Tensor f_BChw, bool toFhat, int[]? patchNums = null)
    {
        using var _ = no_grad();
        var pns = patchNums ?? PatchNums;
        long H = f_BChw.shape[2], W = f_BChw.shape[3];
        if (H != pns[^1] || W != pns[^1])
            throw new MvarException($"feature map is {H}x{W} but the last scale is {pns[^1]}x{pns[^1]}");
        var results = new List<Tensor>();
        using var scope = NewDisposeScope();
        var f_rest = f_BChw.detach().clone();
        var f_hat = zeros_like(f_rest);
        for (int si = 0; si < pns.Length; si++)
        {
            using var step = NewDisposeScope();   // frees each scale's intermediates
            (var idx_Bl, f_hat) = QuantizeScale(si, pns, f_rest, f_hat);
            f_hat.MoveToOuterDisposeScope();
            results.Add(toFhat ? f_hat : idx_Bl.MoveToOuterDisposeScope());
        }
        foreach (var r in results) r.MoveToOuterDisposeScope();
        return results;
    }

    /// <summary>
    /// Sums the per-scale embedding maps (B, Cvae, pn, pn) into f_hat: each is bicubic-upsampled to the last scale
    /// (except the last) and refined by its phi. Returns the cumulative f_hat after each scale (a copy each), or with
    /// <paramref name="lastOne"/> a single-element list with the final f_hat.
    /// </summary>
    public List<Tensor> EmbedToFhat(IReadOnlyList<Tensor> ms_h_BChw, bool lastOne = false)
    {
        using var _ = no_grad();
        var results = new List<Tensor>();
        long B = ms_h_BChw[0].shape[0];
        int SN = PatchNums.Length;
        long HW = PatchNums[^1];
        using var scope = NewDisposeScope();
        var f_hat = zeros(B, Cvae, HW, HW);
        for (int si = 0; si < ms_h_BChw.Count; si++)
        {
            var h = ms_h_BChw[si];
            if (si < SN - 1) h = Bicubic(h, HW);
            f_hat.add_(ApplyPhi(si, SN, h));
            if (!lastOne) results.Add(f_hat.clone());
        }
        if (lastOne) results.Add(f_hat);
        foreach (var r in results) r.MoveToOuterDisposeScope();
        return results;
    }

    /// <summary>
    /// Teacher-forcing input of the transformer (VAR's <c>x_BLCv_wo_first_l</c>, MVAR's identical
    /// <c>idxBl_to_mvar_input</c>): for each scale but the first, the cumulative f_hat of the previous scales
    /// area-downsampled to that scale, flattened row-major: (B, L - pn_0^2, Cvae). Null for a single scale.
    /// </summary>
    public Tensor? IdxBlToVarInput(IReadOnlyList<Tensor> gt_ms_idx_Bl) => IdxBlToMvarInput(gt_ms_idx_Bl);

    /// <summary>
    /// MVAR's <c>idxBl_to_mvar_input</c>: <see cref="IdxBlToVarInput"/> with an optional number of scales
    /// <paramref name="SN"/> (default all), which also sets each scale's phi position si/(SN-1).
    /// </summary>
    public Tensor? IdxBlToMvarInput(IReadOnlyList<Tensor> gt_ms_idx_Bl, int? SN = null)
    {
        using var _ = no_grad();
        int sn = SN ?? PatchNums.Length;
        if (sn < 2) return null;
        long B = gt_ms_idx_Bl[0].shape[0], HW = PatchNums[^1];
        using var scope = NewDisposeScope();
        var f_hat = zeros(B, Cvae, HW, HW);
        var next_scales = new List<Tensor>();
        for (int si = 0; si < sn - 1; si++)
        {
            var h_BChw = Bicubic(IdxToEmbedMap(gt_ms_idx_Bl[si]), HW);
            f_hat.add_(ApplyPhi(si, sn, h_BChw));
            long pn_next = PatchNums[si + 1];
            next_scales.Add(Area(f_hat, pn_next).view(B, Cvae, -1).transpose(1, 2));
        }
        return cat(next_scales, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One sampling step (VAR inference): adds scale si's embedding map h (B, Cvae, pn_si, pn_si), upsampled and
    /// phi-refined, to <paramref name="f_hat"/> IN PLACE; returns f_hat and the next scale's input (f_hat
    /// area-downsampled to pn_{si+1}), or f_hat itself after the last scale.
    /// </summary>
    public (Tensor f_hat, Tensor next_token_map) GetNextAutoregressiveInput(int si, int SN, Tensor f_hat, Tensor h_BChw)
    {
        using var _ = no_grad();
        long HW = PatchNums[^1];
        if (si != SN - 1)
        {
            using (var up = Bicubic(h_BChw, HW))
            using (var h = ApplyPhi(si, SN, up))
                f_hat.add_(h);
            return (f_hat, Area(f_hat, PatchNums[si + 1]));
        }
        using (var h = ApplyPhi(si, SN, h_BChw))
            f_hat.add_(h);
        return (f_hat, f_hat);
    }

    /// <summary>
    /// The training-time quantizer forward (VAR's <c>VectorQuantizer2.forward</c>) without gradients or usage
    /// statistics: returns f_hat as the straight-through expression (f_hat - f) + f and the VQ loss
    /// mean over scales of beta*mse(f_hat, f) + mse(f_hat, f).
    /// </summary>
    public (Tensor f_hat, Tensor vq_loss) Forward(Tensor f_BChw)
    {
        using var _ = no_grad();
        int SN = PatchNums.Length;
        using var scope = NewDisposeScope();
        var f_rest = f_BChw.detach().clone();
        var f_hat = zeros_like(f_rest);
        Tensor loss = tensor(0.0f);
        for (int si = 0; si < SN; si++)
        {
            (var _, f_hat) = QuantizeScale(si, PatchNums, f_rest, f_hat);
            loss = loss + (F.mse_loss(f_hat, f_BChw).mul_(Beta) + F.mse_loss(f_hat, f_BChw));
        }
        loss = loss * (1.0 / SN);
        f_hat = (f_hat - f_BChw).add_(f_BChw);
        return (f_hat.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The training forward WITH gradients (official <c>VectorQuantizer2.forward</c> in training): per scale the
    /// residual is area-downsampled, each position takes its nearest code, the code map is bicubic-upsampled, refined
    /// by phi and accumulated into f_hat. Loss: mean over scales of beta * mse(sg(f_hat), f) (commitment, trains the
    /// encoder) + mse(f_hat, sg(f)) (codebook, trains the embedding and the phis). Returns the straight-through
    /// f_hat = sg(f_hat - f) + f, the loss, the chosen codes of every scale (B, pn*pn) and the RMS of each scale's
    /// residual before its lookup (S; what <see cref="UpdateScaleRms"/> folds in).
    /// </summary>
    public (Tensor f_hat, Tensor vq_loss, List<Tensor> idx, Tensor rms_S) TrainingForward(Tensor f_BChw)
    {
        int SN = PatchNums.Length;
        var idxs = new List<Tensor>();
        using var scope = NewDisposeScope();
        var rms_S = zeros(SN);
        var f_no_grad = f_BChw.detach();
        var f_rest = f_no_grad.clone();
        var f_hat = zeros_like(f_rest);
        Tensor loss = tensor(0.0f);
        for (int si = 0; si < SN; si++)
        {
            (var idx_Bl, f_hat) = QuantizeScale(si, PatchNums, f_rest, f_hat, rms_S);
            loss = loss + (F.mse_loss(f_hat.detach(), f_BChw).mul(Beta) + F.mse_loss(f_hat, f_no_grad));
            idxs.Add(idx_Bl);
        }
        loss = loss * (1.0 / SN);
        var ste = (f_hat.detach() - f_no_grad).add(f_BChw);
        foreach (var t in idxs) t.MoveToOuterDisposeScope();
        return (ste.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope(), idxs, rms_S.MoveToOuterDisposeScope());
    }
}
