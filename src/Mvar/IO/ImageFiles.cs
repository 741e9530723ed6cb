using StbImageSharp;
using StbImageWriteSharp;
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
    /// <summary>Most pixels of the intermediate image when resizing the shorter side to the model's size (an aspect-ratio bound).</summary>
    public const long MaxResizedPixels = 1L << 22;

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
        var (width, height) = Dimensions(bytes, Bad);
        long pixels = (long)width * height;
        if (pixels > MaxPixels)
            throw Bad($"{width}x{height} pixels is more than the {MaxPixels:N0} accepted (a decompression bomb?)");
        MemoryBudget.Require(pixels * 4 * 2, $"decoding {source} ({width}x{height})");
        ImageResult img;
        try { img = ImageResult.FromMemory(bytes, channels == 1 ? StbImageSharp.ColorComponents.Grey : StbImageSharp.ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new MvarException($"cannot read image {source}: corrupt ({e.Message.TrimEnd('.')})",
            e);
        }
        if (img?.Data == null || img.Width <= 0 || img.Height <= 0 || img.Data.Length < (long)img.Width * img.Height * channels)
            throw Bad("not a supported image or corrupt");
        return (img.Data, img.Width, img.Height);
    }

    /// <summary>
    /// The dimensions of an image from its header, before anything is decoded. PNG and JPEG are walked chunk by chunk
    /// (segment by segment): every length must fit in the file, a PNG must end with IEND, a JPEG must have its frame
    /// header before the scan and an end-of-image marker after it; a file cut short is an error (the decoder would
    /// otherwise hang or return a partial image). Other formats are left to the decoder's own header reader.
    /// </summary>
    static (int width, int height) Dimensions(byte[] b, Func<string, MvarException> bad)
    {
        if (b.Length >= 8 && b.AsSpan(0, 8).SequenceEqual(PngSignature)) return PngDimensions(b, bad);
        if (b.Length >= 2 && b[0] == 0xFF && b[1] == 0xD8) return JpegDimensions(b, bad);
        ImageInfo? info;
        try { using var ms = new MemoryStream(b, writable: false); info = ImageInfo.FromStream(ms); }
        catch (Exception e) when (e is not OutOfMemoryException) { info = null; }
        if (info is not { Width: > 0, Height: > 0 } header) throw bad("not a supported image (PNG, JPEG, BMP, GIF, TGA) or corrupt");
        return (header.Width, header.Height);
    }

    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10];

    static (int, int) PngDimensions(byte[] b, Func<string, MvarException> bad)
    {
        long p = 8;
        int w = 0, h = 0;
        bool first = true;
        while (true)
        {
            if (p + 12 > b.Length) throw bad("truncated PNG (no IEND chunk)");
            long len = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan((int)p));
            string type = System.Text.Encoding.ASCII.GetString(b, (int)p + 4, 4);
            if (len > int.MaxValue || p + 12 + len > b.Length) throw bad($"truncated PNG (its {type} chunk of {len} bytes runs past the end of the file)");
            if (first)
            {
                if (type != "IHDR" || len < 13) throw bad("corrupt PNG (no IHDR chunk first)");
                w = (int)Math.Min(int.MaxValue, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan((int)p + 8)));
                h = (int)Math.Min(int.MaxValue, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan((int)p + 12)));
                if (w <= 0 || h <= 0) throw bad($"corrupt PNG (size {w}x{h})");
                first = false;
            }
            if (type == "IEND") return (w, h);
            p += 12 + len;
        }
    }

    static (int, int) JpegDimensions(byte[] b, Func<string, MvarException> bad)
    {
        int p = 2, w = 0, h = 0;
        while (true)
        {
            while (p < b.Length && b[p] == 0xFF && p + 1 < b.Length && b[p + 1] == 0xFF) p++;   // fill bytes
            if (p + 4 > b.Length) throw bad("truncated JPEG (it ends inside its header)");
            if (b[p] != 0xFF) throw bad($"corrupt JPEG (no marker at byte {p})");
            byte marker = b[p + 1];
            if (marker is 0xD8 or (>= 0xD0 and <= 0xD7) or 0x01) { p += 2; continue; }
            if (marker == 0xD9) throw bad("JPEG without image data (end of image before any scan)");
            int len = (b[p + 2] << 8) | b[p + 3];
            if (len < 2 || p + 2 + len > b.Length) throw bad($"truncated JPEG (a segment of {len} bytes runs past the end of the file)");
            if (marker is (>= 0xC0 and <= 0xCF) and not (0xC4 or 0xC8 or 0xCC))
            {
                if (len < 8) throw bad("corrupt JPEG (short frame header)");
                h = (b[p + 5] << 8) | b[p + 6];
                w = (b[p + 7] << 8) | b[p + 8];
            }
            if (marker == 0xDA)
            {
                if (w <= 0 || h <= 0) throw bad($"corrupt JPEG (no frame header with a size before the image data, or size {w}x{h})");
                if (b.AsSpan(p + 2 + len).IndexOf([(byte)0xFF, (byte)0xD9]) < 0)
                    throw bad("truncated JPEG (no end-of-image marker after the image data)");
                return (w, h);
            }
            p += 2 + len;
        }
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
        if (newWl * newHl > MaxResizedPixels)
            throw new
                MvarException($"a {w}x{h} image is too elongated: resized to {size} on its shorter side it would have {newWl}x{newHl} pixels (at most "
                + $"{MaxResizedPixels:N0})");
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
        SavePng(GridImage(images, columns, padding, minCell), path);
    }

    /// <summary>The image <see cref="SaveGrid"/> writes: <see cref="MakeGrid"/>, enlarged when the cells are smaller than <paramref name="minCell"/>.</summary>
    public static Tensor GridImage(IReadOnlyList<Tensor> images, int columns = 0, int padding = 2, int minCell = 96)
    {
        using var scope = NewDisposeScope();
        var grid = MakeGrid(images, columns, padding);
        long side = Math.Max(images[0].shape[^1], images[0].shape[^2]);
        int zoom = (int)Math.Max(1, minCell / side);
        if (zoom > 1) grid = grid.repeat_interleave(zoom, 1).repeat_interleave(zoom, 2);
        return grid.MoveToOuterDisposeScope();
    }
}
