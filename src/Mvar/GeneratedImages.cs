using Mvar.IO;
using Mvar.Sampling;
using static TorchSharp.torch;

namespace Mvar;

/// <summary>
/// Samples of <see cref="MvarPipeline"/>: the decoded images (<see cref="Images"/>, (N, C, H, W) float32 in [-1, 1]),
/// as PNG bytes one by one or as a grid, and the sampler's result (classes, tokens per scale, seed).
/// </summary>
public sealed class GeneratedImages(SampleResult result, Tensor images, Func<long, string> className) : IDisposable
{
    public SampleResult Result { get; } = result;
    /// <summary>(N, C, H, W) float32 in [-1, 1], C = 1 (grey) or 3 (RGB).</summary>
    public Tensor Images { get; } = images;
    public int Count => (int)Images.shape[0];
    /// <summary>The class of each sample.</summary>
    public long[] Classes => Result.Classes;
    /// <summary>The class name of each sample (the configuration's <c>class_names</c>, or <c>"class N"</c>).</summary>
    public IReadOnlyList<string> ClassNames => Classes.Select(className).ToList();
    /// <summary>The generator seed used: the same seed and options give the same images.</summary>
    public ulong Seed => Result.Seed;

    /// <summary>Sample <paramref name="index"/> as an 8-bit PNG.</summary>
    public byte[] Png(int index) => ImageFiles.EncodePng(Images[index]);

    /// <summary>All samples tiled <paramref name="columns"/> per row as one PNG (small images enlarged to be seen).</summary>
    public byte[] GridPng(int columns = 8) => ImageFiles.EncodePng(ImageFiles.GridImage(ImageFiles.Unbatch(Images), columns));

    /// <summary><see cref="GridPng"/> written to <paramref name="path"/> (through a temporary file and a rename).</summary>
    public void SaveGrid(string path, int columns = 8) => ImageFiles.SaveGrid(ImageFiles.Unbatch(Images), path, columns);

    public void Dispose()
    {
        Images.Dispose();
        Result.Dispose();
    }
}
