using Mvar.IO;

namespace Mvar.Data;

/// <summary>One raw sample: 8-bit interleaved pixels (height, width, channels) and its class.</summary>
public readonly record struct RawImage(byte[] Pixels, int Width, int Height, int Channels, int Label);

/// <summary>A labelled image data set read one sample at a time (nothing is loaded up front).</summary>
public interface IImageDataset
{
    int Count { get; }
    int NumClasses { get; }
    /// <summary>Human-readable origin of sample <paramref name="index"/> (a file path, or file#index).</summary>
    string Describe(int index);
    int LabelOf(int index);
    /// <summary>Reads sample <paramref name="index"/> with <paramref name="channels"/> channels (1 grey, 3 RGB).
    /// Throws <see cref="DataFileException"/> naming the file when it is unreadable.</summary>
    RawImage Read(int index, int channels);
}

/// <summary>A data file that cannot be read (corrupt, truncated, unsupported). <see cref="Path"/> names it.</summary>
public sealed class DataFileException(string path, string message, Exception? inner = null)
    : MvarException($"{path}: {message}", inner)
{
    public string Path { get; } = path;
}

/// <summary>What to do with an unreadable sample: report and skip it, or stop the run.</summary>
public enum BadFilePolicy { Stop, Skip }

/// <summary>
/// VAR's pre-processing (utils/data.py): [horizontal flip], resize the shorter side with Lanczos to
/// round(mid_reso * size), then a random crop (training) or centre crop (evaluation) to size x size, to [-1, 1].
/// Small images such as Fashion-MNIST's 28x28 can instead be padded (centred on black) when <see cref="Pad"/> is set.
/// </summary>
public sealed record Preprocess(int Size, int Channels, double MidReso = 1.125, bool HFlip = false, bool Pad = false)
{
    /// <summary>The pre-processing of a model's training data: its tokenizer's size and channels, the training section's mid_reso, hflip and
    /// small_images.</summary>
    public static Preprocess Of(Mvar.Config.ModelConfig c)
    {
        var t = c.Training ?? new Mvar.Config.TrainingConfig();
        return new Preprocess(c.Tokenizer.ImageSize, c.Tokenizer.InChannels, t.MidReso, t.Hflip, Pad: t.SmallImages == "pad");
    }

    /// <summary>(channels, size, size) pixels ready for <see cref="ImageFiles.PixelsToTensor"/>.</summary>
    public byte[] Apply(RawImage img, bool train, Random rng)
    {
        byte[] px = img.Pixels; int w = img.Width, h = img.Height, c = img.Channels;
        if (c != Channels) throw new ArgumentException($"image has {c} channels, expected {Channels}");
        if (train && HFlip && rng.NextDouble() < 0.5) px = FlipHorizontal(px, w, h, c);
        if (Pad && w <= Size && h <= Size)
            return PadTo(px, w, h, c, Size);
        int mid = (int)Math.Round(MidReso * Size, MidpointRounding.ToEven);
        if (Math.Min(w, h) != mid)
        {
            int newW, newH;
            if (w <= h) { newW = mid; newH = (int)((long)mid * h / w); }
            else { newH = mid; newW = (int)((long)mid * w / h); }
            px = Lanczos.Resize(px, w, h, c, newW, newH); w = newW; h = newH;
        }
        int top, left;
        if (train) { top = rng.Next(h - Size + 1); left = rng.Next(w - Size + 1); }
        else { top = (int)Math.Round((h - Size) / 2.0); left = (int)Math.Round((w - Size) / 2.0); }
        var crop = new byte[Size * Size * c];
        for (int y = 0; y < Size; y++)
            Array.Copy(px, ((y + top) * w + left) * c, crop, y * Size * c, Size * c);
        return crop;
    }

    static byte[] FlipHorizontal(byte[] px, int w, int h, int c)
    {
        var o = new byte[px.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                Array.Copy(px, (y * w + x) * c, o, (y * w + (w - 1 - x)) * c, c);
        return o;
    }

    static byte[] PadTo(byte[] px, int w, int h, int c, int size)
    {
        var o = new byte[size * size * c];   // black: -1 after normalisation
        int top = (size - h) / 2, left = (size - w) / 2;
        for (int y = 0; y < h; y++) Array.Copy(px, y * w * c, o, ((y + top) * size + left) * c, w * c);
        return o;
    }
}
