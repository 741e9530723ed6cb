using StbImageSharp;
using StbImageWriteSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Mvar.IO;

/// <summary>
/// Image files to and from model tensors. Model images are float32 (C, H, W) or (B, C, H, W) in [-1, 1]
/// (VAR's x/255*2-1); files are 8-bit RGB (C = 3) or grey (C = 1).
/// </summary>
public static class ImageFiles
{
    /// <summary>Most pixels an image file may have (a decompression-bomb bound, checked from the header before decoding).</summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>
    /// 8-bit pixels (height, width, channels interleaved) of a PNG/JPEG/BMP/... file. The dimensions are read from the
    /// header and bounded (<see cref="MaxPixels"/>, and the machine's memory) before decoding; a PNG without its IEND
    /// chunk or a JPEG without its end-of-image marker after the last scan is truncated, an error.
    /// </summary>
    public static (byte[] pixels, int width, int height) ReadPixels(string path, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), "1 (grey) or 3 (RGB)");
        FileKinds.RequireRegularFile(path, "image file");
        byte[] bytes = File.ReadAllBytes(path);
        return Decode(bytes, channels, path);
    }

    /// <summary>The pixels of an image file's bytes (see <see cref="ReadPixels"/>); <paramref name="source"/> names it in errors.</summary>
    public static (byte[] pixels, int width, int height) Decode(byte[] bytes, int channels, string source)
    {
        MvarException Bad(string why) => new($"cannot read image {source}: {why}");
        ImageInfo? info;
        try { using var ms = new MemoryStream(bytes, writable: false); info = ImageInfo.FromStream(ms); }
        catch (Exception e) when (e is not OutOfMemoryException) { info = null; }
        if (info is not { Width: > 0, Height: > 0 } header) throw Bad("not a supported image (PNG, JPEG, BMP, GIF, TGA) or corrupt");
        long pixels = (long)header.Width * header.Height;
        if (pixels > MaxPixels)
            throw Bad($"{header.Width}x{header.Height} pixels is more than the {MaxPixels:N0} accepted (a decompression bomb?)");
        MemoryBudget.Require(pixels * 4 * 2, $"decoding {source} ({header.Width}x{header.Height})");
        if (Truncation(bytes) is string why) throw Bad(why);
        ImageResult img;
        try { img = ImageResult.FromMemory(bytes, channels == 1 ? StbImageSharp.ColorComponents.Grey : StbImageSharp.ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException) { throw new MvarException($"cannot read image {source}: corrupt ({e.Message.TrimEnd('.')})", e); }
        if (img?.Data == null || img.Width <= 0 || img.Height <= 0 || img.Data.Length < (long)img.Width * img.Height * channels)
            throw Bad("not a supported image or corrupt");
        return (img.Data, img.Width, img.Height);
    }

    /// <summary>Why a PNG or JPEG is cut short, or null: PNG ends with its IEND chunk, JPEG has EOI after its last scan.</summary>
    static string? Truncation(byte[] b)
    {
        if (b.Length >= 8 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G')
            return b.AsSpan().LastIndexOf("IEND"u8) < 0 ? "truncated PNG (no IEND chunk)" : null;
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        {
            int sos = b.AsSpan().LastIndexOf([(byte)0xFF, (byte)0xDA]);
            if (sos < 0) return "JPEG without image data (no start-of-scan marker)";
            return b.AsSpan(sos).IndexOf([(byte)0xFF, (byte)0xD9]) < 0 ? "truncated JPEG (no end-of-image marker after the image data)" : null;
        }
        return null;
    }

    /// <summary>
    /// Model input from an image file: (1, channels, size, size) in [-1, 1]. Like VAR's pre-processing, an image that
    /// is not already size x size gets its shorter side resized to <paramref name="size"/> (Lanczos-3), then is centre-cropped.
    /// </summary>
    public static Tensor Load(string path, int size, int channels = 3)
    {
        var (px, w, h) = ReadPixels(path, channels);
        (px, w, h) = ResizeAndCrop(px, w, h, channels, size);
        return PixelsToTensor(px, w, h, channels).unsqueeze(0);
    }

    /// <summary>torchvision Resize(size) (shorter side) with Lanczos, then CenterCrop(size).</summary>
    public static (byte[] pixels, int width, int height) ResizeAndCrop(byte[] px, int w, int h, int channels, int size)
    {
        if (w == size && h == size) return (px, w, h);
        long newWl, newHl;
        if (w <= h) { newWl = size; newHl = (long)size * h / w; }
        else { newHl = size; newWl = (long)size * w / h; }
        if (newWl * newHl > MaxPixels)
            throw new MvarException($"a {w}x{h} image is too elongated: resized to {size} on its shorter side it would have {newWl}x{newHl} pixels (at most {MaxPixels:N0})");
        int newW = (int)newWl, newH = (int)newHl;
        if (newW != w || newH != h) px = Lanczos.Resize(px, w, h, channels, newW, newH);
        int top = (int)Math.Round((newH - size) / 2.0), left = (int)Math.Round((newW - size) / 2.0);
        var crop = new byte[size * size * channels];
        for (int y = 0; y < size; y++)
            Array.Copy(px, ((y + top) * newW + left) * channels, crop, y * size * channels, size * channels);
        return (crop, size, size);
    }

    /// <summary>8-bit interleaved pixels to a (channels, h, w) float32 tensor in [-1, 1].</summary>
    public static Tensor PixelsToTensor(byte[] px, int w, int h, int channels)
    {
        using var scope = NewDisposeScope();
        var t = tensor(px, dtype: ScalarType.Byte).reshape(h, w, channels).permute(2, 0, 1).to_type(ScalarType.Float32);
        return t.div_(255).mul_(2).sub_(1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>A (C, H, W) or (1, C, H, W) tensor in [-1, 1] to 8-bit interleaved pixels (rounded, clamped).</summary>
    public static (byte[] pixels, int width, int height, int channels) TensorToPixels(Tensor img)
    {
        using var scope = NewDisposeScope();
        if (img.dim() == 4 && img.shape[0] == 1) img = img[0];
        if (img.dim() != 3 || img.shape[0] is not (1 or 3))
            throw new MvarException($"expected an image tensor (1 or 3, H, W), got ({string.Join(", ", img.shape)})");
        int c = (int)img.shape[0], h = (int)img.shape[1], w = (int)img.shape[2];
        var u8 = img.detach().to(CPU).to_type(ScalarType.Float32).add(1).mul_(127.5).round_().clamp_(0, 255)
            .to_type(ScalarType.Byte).permute(1, 2, 0).contiguous();
        return (u8.data<byte>().ToArray(), w, h, c);
    }

    /// <summary>Writes a (C, H, W) or (1, C, H, W) tensor in [-1, 1] as an 8-bit PNG (atomically: temp file + rename).</summary>
    public static void SavePng(Tensor img, string path)
    {
        var (px, w, h, c) = TensorToPixels(img);
        WritePng(px, w, h, c, path);
    }

    /// <summary>A (C, H, W) or (1, C, H, W) tensor in [-1, 1] encoded as an 8-bit PNG in memory.</summary>
    public static byte[] EncodePng(Tensor img)
    {
        var (px, w, h, c) = TensorToPixels(img);
        using var stream = new MemoryStream();
        new ImageWriter().WritePng(px, w, h, c == 1 ? StbImageWriteSharp.ColorComponents.Grey : StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        return stream.ToArray();
    }

    /// <summary>Writes 8-bit interleaved pixels as a PNG via a temporary file in the same folder and a rename.</summary>
    public static void WritePng(byte[] px, int w, int h, int channels, string path) =>
        AtomicFile.Write(path, stream => new ImageWriter().WritePng(px, w, h,
            channels == 1 ? StbImageWriteSharp.ColorComponents.Grey : StbImageWriteSharp.ColorComponents.RedGreenBlue, stream));

    /// <summary>
    /// Tiles images (each (C, H, W), or a batch (B, C, H, W)) into one (C, H', W') tensor: <paramref name="columns"/>
    /// per row (0: all in one row, a strip), <paramref name="padding"/> pixels of <paramref name="padValue"/>
    /// around each image (torchvision make_grid layout; -1 is black in [-1, 1]).
    /// </summary>
    public static Tensor MakeGrid(IReadOnlyList<Tensor> images, int columns = 0, int padding = 2, double padValue = -1)
    {
        if (images.Count == 0) throw new ArgumentException("no images to tile", nameof(images));
        using var scope = NewDisposeScope();
        var list = images.Select(t => t.dim() == 4 && t.shape[0] == 1 ? t[0] : t).ToList();
        long C = list[0].shape[0], H = list[0].shape[1], W = list[0].shape[2];
        if (list.Any(t => t.dim() != 3 || t.shape[0] != C || t.shape[1] != H || t.shape[2] != W))
            throw new ArgumentException("all images of a grid must have the same (C, H, W)", nameof(images));
        int n = list.Count, cols = columns <= 0 ? n : Math.Min(columns, n), rows = (n + cols - 1) / cols;
        long cellH = H + padding, cellW = W + padding;
        var grid = full(C, rows * cellH + padding, cols * cellW + padding, padValue, dtype: ScalarType.Float32);
        for (int i = 0; i < n; i++)
        {
            long y = (i / cols) * cellH + padding, x = (i % cols) * cellW + padding;
            grid[.., TensorIndex.Slice(y, y + H), TensorIndex.Slice(x, x + W)] = list[i].detach().to(CPU).to_type(ScalarType.Float32);
        }
        return grid.MoveToOuterDisposeScope();
    }

    /// <summary>A batch (B, C, H, W) as a list of (C, H, W) views.</summary>
    public static IReadOnlyList<Tensor> Unbatch(Tensor batch) => batch.unbind(0);

    /// <summary>
    /// <see cref="MakeGrid"/> written as a PNG. Images smaller than <paramref name="minCell"/> pixels (Fashion-MNIST's
    /// 32x32) are enlarged by a whole factor, nearest neighbour, so that a person can see them.
    /// </summary>
    public static void SaveGrid(IReadOnlyList<Tensor> images, string path, int columns = 0, int padding = 2, int minCell = 96)
    {
        using var scope = NewDisposeScope();
        var grid = MakeGrid(images, columns, padding);
        long side = Math.Max(images[0].shape[^1], images[0].shape[^2]);
        int zoom = (int)Math.Max(1, minCell / side);
        if (zoom > 1) grid = grid.repeat_interleave(zoom, 1).repeat_interleave(zoom, 2);
        SavePng(grid, path);
    }
}
