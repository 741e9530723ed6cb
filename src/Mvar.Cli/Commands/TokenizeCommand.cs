using System.CommandLine;
using Mvar.IO;
using Mvar.Tokens;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar tokenize</c>: images to multi-scale token indices (JSON).</summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var tok = new TokenizerOptions();
        var images = new Argument<string[]>("IMAGE")
        {
            Description = "PNG/JPEG images (resized and centre-cropped to the tokenizer's size)",
            Arity = ArgumentArity.OneOrMore
        };
        var output = new Option<string>("--tokens-out") { Description = "the token file to write (JSON)", Required = true };
        var cmd = new Command("tokenize", "Encode images into VAR's multi-scale token maps") { images, output };
        tok.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            string outPath = p.GetValue(output)!;
            var files = p.GetValue(images)!;
            foreach (var f in files)
                if (!File.Exists(f)) throw new MvarException($"image file not found: {f}");
            TokenizerOptions.CheckWritable(outPath);
            using var vae = tok.Load(p);
            var entries = new List<TokenFile.Entry>();
            foreach (var file in files)
            {
                using var scope = NewDisposeScope();
                var img = ImageFiles.Load(file, vae.Config.ImageSize, vae.Config.InChannels);
                entries.Add(new TokenFile.Entry(vae.ImgToIdxBl(img).Sample(0), File: file));
            }
            new TokenFile(vae.PatchNums, entries).Save(outPath);
            Console.Error.WriteLine($"wrote {outPath}: {entries.Count} image(s), {vae.Config.TokenCount} tokens each");
            return 0;
        });
    }
}
