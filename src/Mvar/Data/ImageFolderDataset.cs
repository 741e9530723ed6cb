using Mvar.IO;

namespace Mvar.Data;

/// <summary>
/// An image folder with one sub-folder per class (ImageNet's <c>train/n01440764/*.JPEG</c>): classes are the
/// sub-folders in ordinal order (torchvision's ImageFolder), samples the image files inside, sorted.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase)
        { ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tga", ".psd", ".hdr", ".pgm", ".ppm" };

    readonly List<(string path, int label)> samples = new();
    public IReadOnlyList<string> Classes { get; }
    public int Count => samples.Count;
    public int NumClasses => Classes.Count;

    public ImageFolderDataset(string root)
    {
        if (!Directory.Exists(root)) throw new MvarException($"image folder not found: {root}");
        var dirs = Directory.GetDirectories(root).OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToList();
        if (dirs.Count == 0) throw new MvarException($"{root}: no class sub-folders (expected {root}/CLASS/IMAGE files)");
        Classes = dirs.Select(d => Path.GetFileName(d)!).ToList();
        for (int c = 0; c < dirs.Count; c++)
        {
            var files = Directory.EnumerateFiles(dirs[c], "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f))).OrderBy(f => f, StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new MvarException($"class folder {dirs[c]} holds no image files");
            foreach (var f in files) samples.Add((f, c));
        }
    }

    public string Describe(int index) => samples[index].path;
    public int LabelOf(int index) => samples[index].label;

    public RawImage Read(int index, int channels)
    {
        var (path, label) = samples[index];
        try
        {
            var (px, w, h) = ImageFiles.ReadPixels(path, channels);
            return new RawImage(px, w, h, channels, label);
        }
        catch (MvarException e) { throw new DataFileException(path, e.Message.StartsWith(path, StringComparison.Ordinal) ? "unreadable image" : e.Message, e); }
        catch (IOException e) { throw new DataFileException(path, e.Message, e); }
    }
}
