namespace Mvar.Training.Distributed;

/// <summary>Collectives built from <see cref="ICommunicator.AllReduceSum(Span{float})"/> (all exact: they only add zeros or divide once).</summary>
public static class CommunicatorExtensions
{
    /// <summary>Every rank's <paramref name="value"/>, indexed by rank.</summary>
    public static float[] AllGather(this ICommunicator c, float value)
    {
        var all = new float[c.Size];
        all[c.Rank] = value;
        c.AllReduceSum(all);
        return all;
    }

    /// <summary>
    /// The rows of every rank concatenated in rank order (rows of <paramref name="width"/> floats; ranks may hold
    /// different numbers of rows, including none).
    /// </summary>
    public static float[] AllGatherRows(this ICommunicator c, ReadOnlySpan<float> rows, int width)
    {
        if (c.Size == 1) return rows.ToArray();
        var counts = c.AllGather(rows.Length / width);
        long offset = 0, total = 0;
        for (int r = 0; r < c.Size; r++) { if (r < c.Rank) offset += (long)counts[r]; total += (long)counts[r]; }
        var all = new float[total * width];
        rows.CopyTo(all.AsSpan((int)(offset * width)));
        c.AllReduceSum(all);
        return all;
    }

    /// <summary>True when <paramref name="flag"/> is true on any rank.</summary>
    public static bool Any(this ICommunicator c, bool flag)
    {
        if (c.Size == 1) return flag;
        Span<float> b = [flag ? 1f : 0f];
        c.AllReduceSum(b);
        return b[0] > 0;
    }
}
