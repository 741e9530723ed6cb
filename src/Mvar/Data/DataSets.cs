namespace Mvar.Data;

/// <summary>Opens a data set from a command-line spec.</summary>
public static class DataSets
{
    /// <summary>
    /// <c>fashion-mnist</c> (the installed /usr/share/datasets/fashion-mnist, train split), <c>fashion-mnist:t10k</c>,
    /// <c>idx:DIR[:split]</c> (any IDX folder), or an image folder with one sub-folder per class.
    /// </summary>
    public static IImageDataset Open(string spec, string? cacheDir = null)
    {
        if (spec == "fashion-mnist" || spec.StartsWith("fashion-mnist:", StringComparison.Ordinal))
        {
            string split = spec.Contains(':') ? spec[(spec.IndexOf(':') + 1)..] : "train";
            if (!Directory.Exists(IdxDataset.DefaultDir))
                throw new MvarException($"Fashion-MNIST is not installed at {IdxDataset.DefaultDir} (apt-get install dataset-fashion-mnist)");
            return IdxDataset.Open(IdxDataset.DefaultDir, split, cacheDir);
        }
        if (spec.StartsWith("idx:", StringComparison.Ordinal))
        {
            var parts = spec[4..].Split(':');
            return IdxDataset.Open(parts[0], parts.Length > 1 ? parts[1] : "train", cacheDir);
        }
        return new ImageFolderDataset(spec);
    }

    /// <summary>
    /// <paramref name="spec"/> with its folder made absolute (<c>idx:DIR[:split]</c>, an image folder), as a run records
    /// it so that a resume from another working directory opens the same data; the named data sets are unchanged.
    /// </summary>
    public static string Absolute(string spec)
    {
        if (spec == "fashion-mnist" || spec.StartsWith("fashion-mnist:", StringComparison.Ordinal)) return spec;
        if (spec.StartsWith("idx:", StringComparison.Ordinal))
        {
            var parts = spec[4..].Split(':', 2);
            return "idx:" + Path.GetFullPath(parts[0]) + (parts.Length > 1 ? ":" + parts[1] : "");
        }
        return Path.GetFullPath(spec);
    }
}

/// <summary>The first <c>count</c> samples of a data set.</summary>
public sealed class Subset(IImageDataset inner, int count) : IImageDataset
{
    public int Count { get; } = Math.Min(count, inner.Count);
    public int NumClasses => inner.NumClasses;
    public string Describe(int index) => inner.Describe(index);
    public int LabelOf(int index) => inner.LabelOf(index);
    public RawImage Read(int index, int channels) => inner.Read(index, channels);
}
