namespace Mvar.Tokens;

/// <summary>Where each scale's tokens sit in the flattened multi-scale sequence (scale si is a pn x pn map, row-major).</summary>
public sealed class ScaleLayout
{
    public IReadOnlyList<int> PatchNums { get; }
    /// <summary>Start offset of every scale, plus the total length at the end (Count + 1 entries).</summary>
    readonly int[] starts;

    public ScaleLayout(IReadOnlyList<int> patchNums)
    {
        if (patchNums.Count == 0) throw new ArgumentException("patch_nums is empty");
        PatchNums = patchNums.ToArray();
        starts = new int[patchNums.Count + 1];
        for (int i = 0; i < patchNums.Count; i++) starts[i + 1] = starts[i] + patchNums[i] * patchNums[i];
    }

    public int Count => PatchNums.Count;
    /// <summary>Total number of tokens L over all scales.</summary>
    public int L => starts[^1];
    /// <summary>Tokens of the first scale (the class "start of sequence" tokens).</summary>
    public int FirstL => PatchNums[0] * PatchNums[0];
    public int Begin(int si) => starts[si];
    public int End(int si) => starts[si + 1];
    public int Side(int si) => PatchNums[si];

    /// <summary>Scale index of every token position (VAR's lvl_1L).</summary>
    public long[] LevelOfPosition()
    {
        var lvl = new long[L];
        for (int si = 0; si < Count; si++)
            for (int i = Begin(si); i < End(si); i++) lvl[i] = si;
        return lvl;
    }
}
