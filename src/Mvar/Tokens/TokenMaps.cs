using System.Collections;
using static TorchSharp.torch;

namespace Mvar.Tokens;

/// <summary>
/// The token maps of a batch: one int64 tensor (B, pn*pn) per scale of <see cref="Layout"/>, each row-major. What the
/// tokenizer encodes an image to, the sampler draws, the editor keeps and the trainer teaches with; held together with
/// its layout so that concatenating to the flat sequence (B, L) and splitting it back cannot disagree on the offsets.
/// It is a list of the per-scale tensors, so code that indexes scales reads as before; disposing it disposes them.
/// </summary>
public sealed class TokenMaps : IReadOnlyList<Tensor>, IDisposable
{
    readonly Tensor[] scales;

    public ScaleLayout Layout { get; }

    /// <summary>Token maps of <paramref name="layout"/>'s scales: one (B, pn*pn) tensor each, the same B for all.</summary>
    public TokenMaps(ScaleLayout layout, IReadOnlyList<Tensor> idx_Bl)
    {
        if (idx_Bl.Count != layout.Count)
            throw new MvarException($"{idx_Bl.Count} token maps for {layout.Count} scales (patch_nums [{string.Join(", ", layout.PatchNums)}])");
        for (int si = 0; si < idx_Bl.Count; si++)
        {
            var t = idx_Bl[si];
            long area = layout.Side(si) * layout.Side(si);
            if (t.dim() != 2 || t.shape[1] != area || t.shape[0] != idx_Bl[0].shape[0])
                throw new MvarException($"token map of scale {si} is ({string.Join(", ", t.shape)}), expected ({idx_Bl[0].shape[0]}, {area})");
        }
        Layout = layout;
        scales = idx_Bl.ToArray();
    }

    /// <summary>Token maps of the scales <paramref name="patchNums"/>.</summary>
    public TokenMaps(IReadOnlyList<int> patchNums, IReadOnlyList<Tensor> idx_Bl) : this(new ScaleLayout(patchNums), idx_Bl) { }

    /// <summary>The batch size B.</summary>
    public long Batch => scales[0].shape[0];

    public int Count => scales.Length;
    public Tensor this[int si] => scales[si];
    public IEnumerator<Tensor> GetEnumerator() => ((IEnumerable<Tensor>)scales).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The flat sequence (B, L): the scales one after the other, as the transformer and the token cache see them.</summary>
    public Tensor Concat() => cat(scales, 1);

    /// <summary>Splits a flat sequence (B, L) into its scales (views of it, no copy).</summary>
    public static TokenMaps Split(Tensor idx_BL, ScaleLayout layout)
    {
        if (idx_BL.dim() != 2 || idx_BL.shape[1] != layout.L)
            throw new MvarException(
                $"a token sequence of shape ({string.Join(", ", idx_BL.shape)}) is not (B, {layout.L}) for patch_nums [{string.Join(", ", layout.PatchNums)}]");
        return new TokenMaps(layout, Enumerable.Range(0, layout.Count).Select(si => idx_BL.slice(1, layout.Begin(si), layout.End(si), 1)).ToArray());
    }

    /// <summary>The tokens of sample <paramref name="b"/>: one row-major array per scale.</summary>
    public long[][] Sample(int b) => scales.Select(t => t[b].to_type(ScalarType.Int64).data<long>().ToArray()).ToArray();

    /// <summary>Token maps of a batch given as one row-major array per scale for each sample (e.g. read from a token file).</summary>
    public static TokenMaps FromSamples(ScaleLayout layout, IReadOnlyList<long[][]> samples)
    {
        if (samples.Count == 0) throw new MvarException("no samples to make token maps of");
        var maps = new Tensor[layout.Count];
        for (int si = 0; si < layout.Count; si++)
        {
            int area = layout.Side(si) * layout.Side(si);
            var flat = new long[samples.Count * area];
            for (int b = 0; b < samples.Count; b++)
            {
                if (si >= samples[b].Length || samples[b][si].Length != area)
                    throw new MvarException($"sample {b}: scale {si} has {(si < samples[b].Length ? samples[b][si].Length : 0)} tokens, expected {area}");
                samples[b][si].CopyTo(flat, b * area);
            }
            maps[si] = tensor(flat, [samples.Count, area]);
        }
        return new TokenMaps(layout, maps);
    }

    public void Dispose()
    {
        foreach (var t in scales) t.Dispose();
    }
}
