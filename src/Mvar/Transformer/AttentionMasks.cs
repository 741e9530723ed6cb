using Mvar.Tokens;
using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>Additive attention masks (0 = may attend, -inf = may not) over a range of scales, shaped (1, 1, l, l).</summary>
public static class AttentionMasks
{
    /// <summary>VAR: a token sees every token of its own scale and of all earlier scales.</summary>
    public static Tensor BlockCausal(ScaleLayout layout, int firstScale, int endScale) =>
        Build(layout, firstScale, endScale, (query, key) => key.gt(query));

    /// <summary>MVAR: a token sees only the tokens of its own scale (block-diagonal).</summary>
    public static Tensor WithinScale(ScaleLayout layout, int firstScale, int endScale) =>
        Build(layout, firstScale, endScale, (query, key) => key.ne(query));

    /// <param name="hidden">the boolean (l, l) "may not attend" matrix from the scale index of every query (l, 1) and key (1, l)</param>
    /// <remarks>Built with tensor operations, so on the meta device (preset shapes) it allocates nothing: at 1024 px the mask is 9451^2 floats.</remarks>
    static Tensor Build(ScaleLayout layout, int firstScale, int endScale, Func<Tensor, Tensor, Tensor> hidden)
    {
        using var scope = NewDisposeScope();
        int bg = layout.Begin(firstScale), ed = layout.End(endScale - 1), l = ed - bg;
        var mask = zeros(l, l);
        var lvl = tensor(layout.LevelOfPosition()[bg..ed]).to(mask.device);
        mask.masked_fill_(hidden(lvl.unsqueeze(1), lvl.unsqueeze(0)), float.NegativeInfinity);
        return mask.view(1, 1, l, l).MoveToOuterDisposeScope();
    }
}
