using Mvar.Tokenizer;
using Mvar.Tokens;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Sampling;

/// <summary>In-painting regenerates the region (the box / white mask pixels) and keeps the rest; out-painting keeps the region and regenerates the
/// rest.</summary>
public enum EditMode { Inpaint, Outpaint }

/// <summary>
/// Zero-shot editing as in VAR's published demo (<c>demo_zero_shot_edit.ipynb</c>): the image is tokenized, and at
/// every scale the sampler's drawn tokens are replaced by the image's own tokens where the keep-mask is set; the
/// sampling continues from the accumulated features. Works for VAR and MVAR (it is a <see cref="TokenOverride"/> of
/// the one <see cref="ScaleSampler"/> loop). With class <see cref="ScaleSampler.NoClass"/> it is plain in/out-painting;
/// with a class id the edited region is pulled towards that class.
/// <para>Keep-masks: a (pn_K, pn_K) float map in [0, 1] at the last scale's token resolution (1 = keep the image's
/// token); scale si uses it bilinearly resized to pn_si (align_corners false) and thresholded &gt; 0.5, exactly as the
/// demo's <c>replace_embedding</c>; the first scale (pn*pn &lt;= 3 in the demo) is always kept.</para>
/// </summary>
public static class ZeroShotEditor
{
    /// <summary>
    /// The demo's <c>get_edit_mask</c>: the box (fractions of the image, x0 &lt; x1, y0 &lt; y1, in [0, 1]) on the
    /// (side x side) token grid, rows round(y0*side)..round(y1*side), columns likewise; returns the KEEP mask (1 = keep).
    /// </summary>
    public static Tensor BoxKeepMask(int side, double x0, double y0, double x1, double y1, EditMode mode)
    {
        foreach (var (v, n) in new[] { (x0, "x0"), (y0, "y0"), (x1, "x1"), (y1, "y1") })
            if (!(v >= 0 && v <= 1)) throw new MvarException($"box {n} = {v} is outside [0, 1] (the box is given as fractions of the image)");
        if (!(x0 < x1 && y0 < y1)) throw new MvarException($"box {x0},{y0},{x1},{y1} is empty: need x0 < x1 and y0 < y1");
        var m = new float[side * side];
        int r0 = (int)Math.Round(y0 * side, MidpointRounding.ToEven), r1 = (int)Math.Round(y1 * side, MidpointRounding.ToEven);
        int c0 = (int)Math.Round(x0 * side, MidpointRounding.ToEven), c1 = (int)Math.Round(x1 * side, MidpointRounding.ToEven);
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++) m[r * side + c] = 1;
        var region = tensor(m, [side, side]);
        return mode == EditMode.Inpaint ? region.neg_().add_(1) : region;
    }

    /// <summary>
    /// The keep mask (side x side) of a region mask (H, W) in [0, 1] (1 = the region), area-averaged onto the token grid:
    /// in-painting keeps 1 - region, out-painting keeps the region.
    /// </summary>
    public static Tensor RegionToKeepMask(Tensor region_HW, int side, EditMode mode)
    {
        using var scope = NewDisposeScope();
        var r = F.interpolate(region_HW.to_type(ScalarType.Float32).reshape(1, 1, region_HW.shape[^2], region_HW.shape[^1]),
            size: [side, side], mode: InterpolationMode.Area)[0, 0];
        return (mode == EditMode.Inpaint ? r.neg().add(1) : r).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-scale keep masks (1, pn*pn) bool: the (pn_K, pn_K) keep map bilinearly resized to each scale and thresholded
    /// at 0.5; the first scale is kept entirely when <paramref name="keepFirstScale"/> (the demo does so).
    /// </summary>
    public static List<Tensor> ScaleKeepMasks(Tensor keep_hw, IReadOnlyList<int> patchNums, bool keepFirstScale = true)
    {
        var result = new List<Tensor>();
        using var scope = NewDisposeScope();
        var m = keep_hw.to_type(ScalarType.Float32).reshape(1, 1, keep_hw.shape[^2], keep_hw.shape[^1]);
        for (int si = 0; si < patchNums.Count; si++)
        {
            int pn = patchNums[si];
            var k = F.interpolate(m, size: [pn, pn], mode: InterpolationMode.Bilinear, align_corners: false).gt(0.5).reshape(1, pn * pn);
            if (si == 0 && keepFirstScale) k = ones(1, pn * pn, dtype: ScalarType.Bool);
            result.Add(k.MoveToOuterDisposeScope());
        }
        foreach (var r in result) r.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Checks that a keep map (pn_K, pn_K) leaves something to keep and something to generate on the last scale.</summary>
    public static void CheckKeepMask(Tensor keep_hw)
    {
        using var scope = NewDisposeScope();
        long n = keep_hw.numel(), kept = keep_hw.gt(0.5).sum().item<long>();
        if (kept == 0) throw new MvarException("the mask keeps nothing of the image (no token of the last scale is kept): that is plain sampling");
        if (kept == n) throw new MvarException("the mask leaves nothing to generate (every token of the last scale is kept)");
    }

    /// <summary>
    /// Edits the image of <paramref name="imageTokens"/> (per scale (1, pn*pn), e.g. from <see cref="VqVae.ImgToIdxBl"/>)
    /// <paramref name="count"/> times towards class <paramref name="classId"/> (or <see cref="ScaleSampler.NoClass"/>),
    /// keeping the tokens where <paramref name="keep_hw"/> (pn_K x pn_K, see <see cref="ScaleKeepMasks"/>) is set.
    /// </summary>
    public static SampleResult Edit(ScaleSampler sampler, TokenMaps imageTokens, Tensor keep_hw, long classId, int count,
        SamplingOptions options, Action<ScaleStep>? onScale = null, bool keepFirstScale = true)
    {
        if (count < 1) throw new MvarException($"the number of edits must be at least 1, got {count}");
        var pns = sampler.Model.Layout.PatchNums;
        if (!imageTokens.Layout.PatchNums.SequenceEqual(pns))
            throw new MvarException(
                $"the image's token maps have patch_nums [{string.Join(", ", imageTokens.Layout.PatchNums)}], the model [{string.Join(", ", pns)}]");
        var masks = ScaleKeepMasks(keep_hw, pns, keepFirstScale);
        try
        {
            using var over = new TokenOverride(imageTokens, masks);
            return sampler.Sample(Enumerable.Repeat(classId, count).ToArray(), 0, options, onScale, over);
        }
        finally { foreach (var m in masks) m.Dispose(); }
    }
}
