using Mvar.IO;
using SkiaSharp;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// A PNG of samples in rows, each row headed by its label (e.g. one row per class, named): what a person wants to
/// look at after sampling a class-conditional model. Small images are enlarged by an integer factor (nearest), so
/// 32x32 samples stay crisp.
/// </summary>
public static class LabelledGrid
{
    /// <param name="rows">label and images (C, H, W) in [-1, 1] of each row</param>
    public static void Save(IReadOnlyList<(string label, IReadOnlyList<Tensor> images)> rows, string path, int targetCell = 96)
    {
        var first = rows.First(r => r.images.Count > 0).images[0];
        int h = (int)first.shape[1], w = (int)first.shape[2];
        int zoom = Math.Max(1, targetCell / Math.Max(h, w));
        int cellW = w * zoom, cellH = h * zoom, pad = 4;
        using var font = new SKFont(SKTypeface.Default, size: Math.Clamp(cellH / 5f, 12, 18));
        using var textPaint = new SKPaint { Color = SKColors.White, IsAntialias = true };
        float labelW = rows.Max(r => font.MeasureText(r.label)) + 3 * pad;
        int columns = rows.Max(r => r.images.Count);
        int width = (int)Math.Ceiling(labelW) + columns * (cellW + pad) + pad;
        int height = rows.Count * (cellH + pad) + pad;

        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(24, 24, 24));
            for (int r = 0; r < rows.Count; r++)
            {
                int y = pad + r * (cellH + pad);
                canvas.DrawText(rows[r].label, pad * 2, y + cellH / 2f + font.Size / 3, SKTextAlign.Left, font, textPaint);
                for (int c = 0; c < rows[r].images.Count; c++)
                {
                    using var cell = ToBitmap(rows[r].images[c]);
                    var dest = SKRect.Create((int)Math.Ceiling(labelW) + c * (cellW + pad), y, cellW, cellH);
                    using var image = SKImage.FromBitmap(cell);
                    canvas.DrawImage(image, dest, new SKSamplingOptions(SKFilterMode.Nearest));
                }
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.AsSpan());
    }

    static SKBitmap ToBitmap(Tensor img)
    {
        var (px, w, h, c) = ImageFiles.TensorToPixels(img);
        var bmp = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var rgba = new byte[w * h * 4];
        for (int i = 0; i < w * h; i++)
        {
            byte r = px[i * c], g = px[i * c + (c == 3 ? 1 : 0)], b = px[i * c + (c == 3 ? 2 : 0)];
            rgba[i * 4] = r; rgba[i * 4 + 1] = g; rgba[i * 4 + 2] = b; rgba[i * 4 + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bmp.GetPixels(), rgba.Length);
        return bmp;
    }
}
