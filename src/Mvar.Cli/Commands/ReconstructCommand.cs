using System.CommandLine;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar reconstruct</c>: tokenize an image and decode it back (optionally scale by scale).</summary>
public static class ReconstructCommand
{
    public static Command Create()
    {
        var tok = new TokenizerOptions();
        var image = new Argument<string>("IMAGE") { Description = "a PNG/JPEG image (resized and centre-cropped to the tokenizer's size)" };
        var output = new Option<string>("--out") { Description = "the reconstructed image (PNG)", Required = true };
        var progression = new Option<string?>("--progression") { Description = "also write a strip (PNG) of the images decoded from the first 1, 2, ..., K scales" };
        var cmd = new Command("reconstruct", "Tokenize an image and decode the tokens back to an image") { image, output, progression };
        tok.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            string file = p.GetValue(image)!, outPath = p.GetValue(output)!;
            string? stripPath = p.GetValue(progression);
            if (!File.Exists(file)) throw new MvarException($"image file not found: {file}");
            TokenizerOptions.CheckWritable(outPath);
            if (stripPath != null) TokenizerOptions.CheckWritable(stripPath);
            using var vae = tok.Load(p);
            using var scope = NewDisposeScope();
            var img = ImageFiles.Load(file, vae.Config.ImageSize, vae.Config.InChannels);
            var idx = vae.ImgToIdxBl(img);
            var rec = vae.IdxBlToImg(idx);
            var steps = stripPath != null ? vae.IdxBlToImgs(idx) : null;
            ImageFiles.SavePng(rec, outPath);
            if (steps != null) ImageFiles.SaveGrid(steps, stripPath!);
            Console.Error.WriteLine($"wrote {outPath}" + (stripPath != null ? $" and {stripPath} ({steps!.Count} scales)" : ""));
            return 0;
        });
    }
}
