using Mvar.IO;
using StbImageWriteSharp;
using static TorchSharp.torch;

namespace Mvar.Tests.IO;

public class ImageFilesTests
{
    static byte[] RandomPixels(int w, int h, int c, int seed)
    {
        var px = new byte[w * h * c];
        new Random(seed).NextBytes(px);
        return px;
    }

    [Fact]
    public void PngRoundTripIsExactFor8BitImages()
    {
        string dir = Fixtures.TempDir();
        var px = RandomPixels(20, 12, 3, 1);
        using var t = ImageFiles.PixelsToTensor(px, 20, 12, 3);
        Assert.Equal(new long[] { 3, 12, 20 }, t.shape);
        Assert.True(t.min().item<float>() >= -1 && t.max().item<float>() <= 1);
        // x/255*2-1 like VAR
        Assert.Equal(px[0] / 255f * 2 - 1, t[0, 0, 0].item<float>(), 6);
        string path = Path.Combine(dir, "a.png");
        ImageFiles.SavePng(t, path);
        var (back, w, h) = ImageFiles.ReadPixels(path, 3);
        Assert.Equal((20, 12), (w, h));
        Assert.Equal(px, back);
        // the same through Load (already the model's size when square)
        var sq = RandomPixels(16, 16, 3, 2);
        ImageFiles.WritePng(sq, 16, 16, 3, path);
        using var loaded = ImageFiles.Load(path, 16);
        Assert.Equal(new long[] { 1, 3, 16, 16 }, loaded.shape);
        using var expected = ImageFiles.PixelsToTensor(sq, 16, 16, 3);
        TensorAssert.Equal(expected.unsqueeze(0), loaded, "loaded");
    }

    [Fact]
    public void SavingRoundsToTheNearestLevel()
    {
        string path = Path.Combine(Fixtures.TempDir(), "r.png");
        // -1 -> 0, 1 -> 255, just above level 0.5 -> 1, out of range clamps, level 10 stays 10
        using var t = tensor(new float[] { -1f, 1f, 0.5f / 255 * 2 - 1 + 0.1f / 255, 2f, -3f, 10f / 255 * 2 - 1 }).reshape(1, 1, 6);
        ImageFiles.SavePng(t, path);
        var (px, _, _) = ImageFiles.ReadPixels(path, 1);
        Assert.Equal(new byte[] { 0, 255, 1, 255, 0, 10 }, px);
    }

    [Fact]
    public void GreyImagesRoundTrip()
    {
        string path = Path.Combine(Fixtures.TempDir(), "g.png");
        var px = RandomPixels(8, 8, 1, 3);
        ImageFiles.WritePng(px, 8, 8, 1, path);
        using var t = ImageFiles.Load(path, 8, channels: 1);
        Assert.Equal(new long[] { 1, 1, 8, 8 }, t.shape);
        ImageFiles.SavePng(t, path);
        Assert.Equal(px, ImageFiles.ReadPixels(path, 1).pixels);
        // an RGB file read as grey and a grey file read as RGB both work
        Assert.Equal(new long[] { 1, 3, 8, 8 }, ImageFiles.Load(path, 8, channels: 3).shape);
    }

    [Fact]
    public void JpegFilesAreRead()
    {
        string path = Path.Combine(Fixtures.TempDir(), "c.jpg");
        var px = new byte[32 * 32 * 3];
        for (int i = 0; i < px.Length; i += 3) { px[i] = 200; px[i + 1] = 40; px[i + 2] = 90; }
        using (var s = File.Create(path)) new ImageWriter().WriteJpg(px, 32, 32, ColorComponents.RedGreenBlue, s, 95);
        var (back, w, h) = ImageFiles.ReadPixels(path, 3);
        Assert.Equal((32, 32), (w, h));
        Assert.InRange(back[0], 190, 210);
        Assert.InRange(back[1], 30, 50);
    }

    [Fact]
    public void NonSquareImagesAreResizedOnTheShorterSideAndCentreCropped()
    {
        // 60 wide x 30 high, left third red, middle third green, right third blue; -> 20x20 keeps the green middle
        int w = 60, h = 30;
        var px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                px[(y * w + x) * 3 + x / 20] = 255;
        var (out20, ow, oh) = ImageFiles.ResizeAndCrop(px, w, h, 3, 20);
        Assert.Equal((20, 20), (ow, oh));
        // resized to 40x20 and cropped to its columns 10..29 (source columns 15..45): red | green | blue, green in the middle
        int centre = (10 * 20 + 10) * 3;
        Assert.Equal(new byte[] { 0, 255, 0 }, out20[centre..(centre + 3)]);
        Assert.True(out20[(10 * 20 + 0) * 3 + 0] > 200 && out20[(10 * 20 + 19) * 3 + 2] > 200);
        // a tall image
        var (tall, tw, th) = ImageFiles.ResizeAndCrop(RandomPixels(10, 40, 3, 4), 10, 40, 3, 16);
        Assert.Equal((16, 16), (tw, th));
        Assert.Equal(16 * 16 * 3, tall.Length);
    }

    [Fact]
    public void LanczosKeepsFlatImagesFlatAndDownsamplesARampToItsMean()
    {
        var flat = Enumerable.Repeat((byte)77, 50 * 30 * 3).ToArray();
        Assert.All(Lanczos.Resize(flat, 50, 30, 3, 17, 11), b => Assert.Equal(77, b));
        Assert.All(Lanczos.Resize(flat, 50, 30, 3, 101, 64), b => Assert.Equal(77, b));
        // a horizontal linear ramp halved: each output is the mean of its two inputs (symmetric kernel), away from borders
        var ramp = new byte[64];
        for (int x = 0; x < 64; x++) ramp[x] = (byte)(x * 4);
        var half = Lanczos.Resize(ramp, 64, 1, 1, 32, 1);
        for (int x = 4; x < 28; x++) Assert.InRange(half[x], x * 8 + 2 - 1, x * 8 + 2 + 1);
    }

    [Fact]
    public void BadFilesAreUserErrorsNamingTheFile()
    {
        string dir = Fixtures.TempDir();
        var missing = Assert.Throws<MvarException>(() => ImageFiles.Load(Path.Combine(dir, "none.png"), 16));
        Assert.Contains("none.png", missing.Message);
        string text = Path.Combine(dir, "text.png");
        File.WriteAllText(text, "this is not an image");
        Assert.Contains("text.png", Assert.Throws<MvarException>(() => ImageFiles.Load(text, 16)).Message);
        string png = Path.Combine(dir, "ok.png"), cut = Path.Combine(dir, "cut.png");
        ImageFiles.WritePng(RandomPixels(32, 32, 3, 5), 32, 32, 3, png);
        var bytes = File.ReadAllBytes(png);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
        Assert.Contains("cut.png", Assert.Throws<MvarException>(() => ImageFiles.Load(cut, 32)).Message);
        string empty = Path.Combine(dir, "empty.jpg");
        File.WriteAllBytes(empty, []);
        Assert.Contains("empty.jpg", Assert.Throws<MvarException>(() => ImageFiles.Load(empty, 32)).Message);
    }

    [Fact]
    public void WritesAreAtomic()
    {
        string dir = Fixtures.TempDir();
        string path = Path.Combine(dir, "x.png");
        using var img = zeros(3, 4, 4);
        ImageFiles.SavePng(img, path);
        using var white = ones(3, 4, 4);
        ImageFiles.SavePng(white, path);   // replaces
        Assert.All(ImageFiles.ReadPixels(path, 3).pixels, b => Assert.Equal(255, b));
        Assert.Single(Directory.GetFiles(dir));   // no temp files left
        Assert.ThrowsAny<Exception>(() => ImageFiles.SavePng(img, Path.Combine(dir, "no", "such", "dir.png")));
        Assert.False(Directory.Exists(Path.Combine(dir, "no")));
        using var bad = zeros(2, 4, 4);   // 2 channels: not an image
        Assert.Throws<MvarException>(() => ImageFiles.SavePng(bad, Path.Combine(dir, "bad.png")));
        Assert.Single(Directory.GetFiles(dir));
    }

    [Fact]
    public void GridTilesImagesWithPadding()
    {
        using var scope = NewDisposeScope();
        var imgs = Enumerable.Range(0, 3).Select(i => full(3, 2, 2, i / 4.0)).ToList();
        var grid = ImageFiles.MakeGrid(imgs, columns: 2, padding: 1);
        Assert.Equal(new long[] { 3, 2 * 3 + 1, 2 * 3 + 1 }, grid.shape);
        Assert.Equal(-1f, grid[0, 0, 0].item<float>());                 // padding is black
        Assert.Equal(0f, grid[1, 1, 1].item<float>());                  // image 0 at (1, 1)
        Assert.Equal(0.25f, grid[1, 1, 4].item<float>());               // image 1 at (1, 4)
        Assert.Equal(0.5f, grid[2, 5, 2].item<float>());                // image 2 at (4, 1)
        Assert.Equal(-1f, grid[0, 5, 5].item<float>());                 // empty cell
        var strip = ImageFiles.MakeGrid(ImageFiles.Unbatch(stack(imgs)));   // default: one row, padding 2
        Assert.Equal(new long[] { 3, 6, 3 * 4 + 2 }, strip.shape);
        string path = Path.Combine(Fixtures.TempDir(), "strip.png");
        ImageFiles.SaveGrid(imgs, path, minCell: 0);
        Assert.Equal((14, 6), (ImageFiles.ReadPixels(path, 3).width, ImageFiles.ReadPixels(path, 3).height));
        ImageFiles.SaveGrid(imgs, path, minCell: 8);                      // small images are enlarged 4x, nearest
        var (px, w, h) = ImageFiles.ReadPixels(path, 3);
        Assert.Equal((14 * 4, 6 * 4), (w, h));
        Assert.Equal(0, px[(4 * 1 * w + 4 * 1) * 3]);                      // a padding pixel stays black
        Assert.Equal(159, px[(4 * 2 * w + 4 * 6) * 3]);                    // image 1 (0.25 -> 159), at (2, 6) before, fills its 8x8 cell
        Assert.Equal(159, px[((4 * 2 + 7) * w + 4 * 6 + 7) * 3]);
    }
}
