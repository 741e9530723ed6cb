using System.Globalization;
namespace Mvar.Cli.Commands;

/// <summary>
/// The classes of a batch of samples in a few words, however many there are: "20 samples of classes 0-9 (2 each)",
/// "2000 samples of 865 classes in 0-999 (1-7 each)".
/// </summary>
public static class ClassSummary
{
    /// <summary>Longest id list written out; longer ones become "K classes in MIN-MAX".</summary>
    const int MaxIdsLength = 40;

    public static string Of(IReadOnlyList<long> classes)
    {
        var counts = classes.GroupBy(c => c).OrderBy(g => g.Key).Select(g => (id: g.Key, n: g.Count())).ToList();
        string ids = Ranges(counts.Select(c => c.id).ToList());
        if (ids.Length > MaxIdsLength) ids = $"{counts.Count} classes in {counts[0].id}-{counts[^1].id}";
        else ids = (counts.Count == 1 ? "class " : "classes ") + ids;
        int min = counts.Min(c => c.n), max = counts.Max(c => c.n);
        string each = max == 1 ? "" : min == max ? $" ({max} each)" : $" ({min}-{max} each)";
        return $"{classes.Count} sample{(classes.Count == 1 ? "" : "s")} of {ids}{each}";
    }

    /// <summary>Sorted distinct ids with consecutive runs of three or more joined: 0,2,4-9.</summary>
    static string Ranges(IReadOnlyList<long> sorted)
    {
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            if (j - i >= 2) parts.Add($"{sorted[i]}-{sorted[j]}");
            else for (int k = i; k <= j; k++) parts.Add(sorted[k].ToString(CultureInfo.InvariantCulture));
            i = j + 1;
        }
        return string.Join(",", parts);
    }
}
