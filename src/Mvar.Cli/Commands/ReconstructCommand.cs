using System.CommandLine;
using System.Diagnostics;
using Mvar.Data;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary>
/// <c>mvar reconstruct</c>: tokenize an image and decode it back (optionally scale by scale), or a whole data set into
/// an .npz, whose score under <c>mvar eval</c> is the tokenizer's floor for the FID of any generator built on it.
/// </summary>
public static class ReconstructCommand
{
    public static Command Create()
    {
        var tok = new TokenizerOptions();
        var image = new Argument<string?>("IMAGE")
        {
            Description = "a PNG/JPEG image (resized and centre-cropped to the tokenizer's size)",
            Arity = ArgumentArity.ZeroOrOne
        };
        var output = new Option<string?>("--out") { Description = "the reconstructed image (PNG)" };
        var progression = new Option<string?>("--progression")
        {
            Description =
            "also write a strip (PNG) of the images decoded from the first 1, 2, ..., K scales"
        };
        var data = new Option<string?>("--data")
        {
            Description =
            "reconstruct a data set instead of IMAGE (fashion-mnist[:t10k], idx:DIR[:split], image folder), prepared as for the token cache (centre crop; "
            + "small images padded or resized as the config's training section says)"
        };
        var npz = new Option<string?>("--npz")
        {
            Description =
            "with --data: the reconstructions as .npz (arr_0: uint8 N x H x W x C, as sample --npz writes and mvar eval reads)"
        };
        var limit = new Option<int?>("--limit") { Description = "with --data: only the first N images" };
        var cmd = new Command("reconstruct", "Tokenize an image (or a data set) and decode the tokens back to images") { image, output, progression, data,
            npz, limit };
        tok.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            if (p.GetValue(data) is string spec) return ReconstructDataSet(p, tok, spec, p.GetValue(npz), p.GetValue(limit), p.GetValue(image),
                p.GetValue(output));
            string file = p.GetValue(image) ?? throw new MvarException("give an IMAGE to reconstruct (or --data SET --npz OUT)");
            string outPath = p.GetValue(output) ?? throw new MvarException("give --out OUT.png");
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

    static int ReconstructDataSet(ParseResult p, TokenizerOptions tok, string spec, string? npzPath, int? limit, string? image, string? output)
    {
        if (image != null || output != null) throw new MvarException("--data reconstructs a data set into --npz; give either IMAGE --out or --data --npz");
        if (npzPath == null) throw new MvarException("--data needs --npz OUT.npz");
        if (limit is < 1) throw new MvarException($"--limit must be positive, got {limit}");
        TokenizerOptions.CheckWritable(npzPath);
        var config = tok.ResolveModelConfig(p);
        IImageDataset set = DataSets.Open(spec);
        if (limit is int n) set = new Subset(set, n);
        using var vae = tok.Load(p);
        var batches = new ImageBatches(set, Preprocess.Of(config));   // train: false below: centre crop, no flip
        var sw = Stopwatch.StartNew();
        var parts = new List<Tensor>();
        const int batch = 250;
        ProgressDisplay.Run("reconstructed", "images", set.Count, plainEvery: 1000, d =>
        {
            using (no_grad())
                for (int i = 0; i < set.Count; i += batch)
                {
                    using var scope = NewDisposeScope();
                    var (images, _) = batches.Load(Enumerable.Range(i, Math.Min(batch, set.Count - i)).ToList(), train: false)!.Value;
                    parts.Add(Npz.ToUint8NHWC(vae.IdxBlToImg(vae.ImgToIdxBl(images))).DetachFromDisposeScope());
                    d.Report(new WorkProgress(Math.Min(i + batch, set.Count), set.Count));
                }
            return 0;
        });
        using var all = cat(parts, 0);
        foreach (var x in parts) x.Dispose();
        Npz.Save(npzPath, new Dictionary<string, Tensor> { ["arr_0"] = all });
        Console.Error.WriteLine($"wrote {npzPath}: {set.Count} reconstructions of {spec} ({sw.Elapsed.TotalSeconds:F1}s)");
        return 0;
    }
}
