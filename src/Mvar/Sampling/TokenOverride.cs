using static TorchSharp.torch;

namespace Mvar.Sampling;

/// <summary>
/// A per-scale token override for <see cref="ScaleSampler.Sample(IReadOnlyList{long}, int, SamplingOptions, Action{ScaleStep}, TokenOverride)"/>: right after
/// the draw of scale si, the positions
/// where <c>KeepMasks[si]</c> is true take <c>ReferenceTokens[si]</c> instead of the drawn token, and the next scale's
/// input is built from the result (the zero-shot editing of VAR's demo: in/out-painting, class-conditional editing).
/// The draw itself is unchanged (it consumes the generator exactly as without an override), so positions that are not
/// kept get the same tokens as plain sampling would up to the first scale where a kept token differs.
/// </summary>
public sealed class TokenOverride : IDisposable
{
    readonly Tensor[] reference, keep;

    /// <param name="referenceTokens">per scale, (1 or B, pn*pn) int64 token ids (a batch of 1 applies to every sample)</param>
    /// <param name="keepMasks">per scale, (1 or B, pn*pn) bool: true where the reference token replaces the drawn one</param>
    public TokenOverride(IReadOnlyList<Tensor> referenceTokens, IReadOnlyList<Tensor> keepMasks)
    {
        if (referenceTokens.Count != keepMasks.Count)
            throw new MvarException($"token override: {referenceTokens.Count} reference token maps but {keepMasks.Count} keep masks");
        using var scope = NewDisposeScope();
        reference = referenceTokens.Select(t => t.to_type(ScalarType.Int64).clone().MoveToOuterDisposeScope()).ToArray();
        keep = keepMasks.Select(t => t.to_type(ScalarType.Bool).clone().MoveToOuterDisposeScope()).ToArray();
        for (int si = 0; si < reference.Length; si++)
            if (reference[si].dim() != 2 || !reference[si].shape.SequenceEqual(keep[si].shape))
                throw new
                    MvarException($"token override, scale {si}: reference tokens ({string.Join(", ", reference[si].shape)}) and keep mask "
                    + $"({string.Join(", ", keep[si].shape)}) must both be (B, pn*pn)");
    }

    public int ScaleCount => reference.Length;
    public Tensor ReferenceTokens(int si) => reference[si];
    public Tensor KeepMask(int si) => keep[si];

    /// <summary>Checks the override against a run of <paramref name="batch"/> samples over scales of the given sides.</summary>
    public void Validate(IReadOnlyList<int> sides, int batch)
    {
        if (reference.Length != sides.Count)
            throw new MvarException($"token override has {reference.Length} scales, the model has {sides.Count}");
        for (int si = 0; si < sides.Count; si++)
        {
            long b = reference[si].shape[0], l = reference[si].shape[1];
            if (l != (long)sides[si] * sides[si] || (b != 1 && b != batch))
                throw new MvarException($"token override, scale {si}: expected (1 or {batch}, {sides[si] * sides[si]}) tokens, got ({b}, {l})");
        }
    }

    /// <summary>The drawn tokens (B, pn*pn) with the kept positions replaced by the reference tokens.</summary>
    public Tensor Apply(int si, Tensor idx_Bl)
    {
        var k = keep[si].expand_as(idx_Bl);
        return where(k, reference[si].expand_as(idx_Bl), idx_Bl);
    }

    public void Dispose()
    {
        foreach (var t in reference) t.Dispose();
        foreach (var t in keep) t.Dispose();
    }
}
