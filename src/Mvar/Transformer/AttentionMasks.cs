using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>Additive attention masks (0 = may attend, -inf = may not) over a range of scales, shaped (1, 1, l, l).</summary>
public static class AttentionMasks
{
    /// <summary>VAR: a token sees every token of its own scale and of all earlier scales.</summary>
    public static Tensor BlockCausal(ScaleLayout layout, int firstScale, int endScale) =>
        Build(layout, firstScale, endScale, (si, sj) => sj <= si);

    /// <summary>MVAR: a token sees only the tokens of its own scale (block-diagonal).</summary>
    public static Tensor WithinScale(ScaleLayout layout, int firstScale, int endScale) =>
        Build(layout, firstScale, endScale, (si, sj) => sj == si);

    static Tensor Build(ScaleLayout layout, int firstScale, int endScale, Func<long, long, bool> sees)
    {
        var lvl = layout.LevelOfPosition();
        int bg = layout.Begin(firstScale), ed = layout.End(endScale - 1), l = ed - bg;
        var m = new float[l * l];
        for (int i = 0; i < l; i++)
            for (int j = 0; j < l; j++)
                m[i * l + j] = sees(lvl[bg + i], lvl[bg + j]) ? 0f : float.NegativeInfinity;
        return tensor(m, [1, 1, l, l]);
    }
}
