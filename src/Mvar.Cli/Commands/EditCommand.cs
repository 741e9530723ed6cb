using System.CommandLine;
using System.Globalization;
using Mvar.IO;
using Mvar.Sampling;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar edit</c>: zero-shot in-painting, out-painting and class-conditional editing of an image.</summary>
public static class EditCommand
{
    public static Command Create()
    {
        var models = new ModelOptions();
        var image = new Argument<string>("IMAGE") { Description = "the image to edit (PNG/JPEG; resized and centre-cropped to the model's size)" };
        var box = new Option<string?>("--box") { Description = "the region as x0,y0,x1,y1, fractions of the (cropped) image in [0, 1]" };
        var mask = new Option<string?>("--mask") { Description = "the region as a mask image of the same size as IMAGE: white = region, black = the rest" };
        var mode = new Option<string>("--mode")
        {
            Description =
            "inpaint: regenerate the region, keep the rest; outpaint: keep the region, regenerate the rest", DefaultValueFactory = _ => "inpaint"
        };
        var cls = new Option<string?>("--class") { Description = "edit the region towards this class id" };
        var noClass = new Option<bool>("--no-class") { Description = "plain in/out-painting with the unconditional (\"no class\") row (the default)" };
        var count = new Option<int>("--count") { Description = "number of edits (different draws)", DefaultValueFactory = _ => 1 };
        var sampling = new SamplingOptionSet("generator seed (same seed, same edits)", randomSeed: true, smooth: true);
        var output = new Option<string>("--out")
        {
            Description = "the PNG to write: input, mask (white = generated tokens), then the edits, side by side",
            Required = true
        };
        var tokensOut = new Option<string?>("--tokens-out")
        {
            Description =
            "also write the edits' tokens (JSON, as sample --tokens-out; \"no class\" is class num_classes)"
        };
        var cmd = new Command("edit", "Zero-shot editing (in-painting, out-painting, class-conditional editing) with a VAR or MVAR checkpoint")
        {
            image, box, mask, mode, cls, noClass, count, output, tokensOut,
        };
        sampling.AddTo(cmd);
        models.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            var modelConfig = models.ResolveConfig(p);
            var t = modelConfig.Transformer!;
            var tc = modelConfig.Tokenizer;
            var options = sampling.From(p, tc.VocabSize);
            var editMode = p.GetValue(mode) switch
            {
                "inpaint" => EditMode.Inpaint,
                "outpaint" => EditMode.Outpaint,
                var m => throw new MvarException($"--mode must be inpaint or outpaint, got \"{m}\""),
            };
            string? classText = p.GetValue(cls);
            long? classId = classText == null ? null
                : long.TryParse(classText, out long parsed) ? parsed : throw new MvarException($"--class: \"{classText}\" is not a class id");
            if (classId != null && p.GetValue(noClass)) throw new MvarException("give either --class or --no-class, not both");
            if (classId is { } c && (c < 0 || c >= t.NumClasses)) throw new MvarException($"unknown class id {c}: the model has classes 0..{t.NumClasses - 1}");
            int n = p.GetValue(count);
            if (n < 1) throw new MvarException($"--count must be at least 1, got {n}");
            SamplingMemory.Require(modelConfig, n, "editing");
            string? boxText = p.GetValue(box), maskPath = p.GetValue(mask);
            if ((boxText == null) == (maskPath == null)) throw new MvarException("give exactly one of --box x0,y0,x1,y1 or --mask MASK.png");
            string file = p.GetValue(image)!, outPath = p.GetValue(output)!;
            if (!File.Exists(file)) throw new MvarException($"image file not found: {file}");
            TokenizerOptions.CheckWritable(outPath);
            string? tokensPath = p.GetValue(tokensOut);
            if (tokensPath != null) TokenizerOptions.CheckWritable(tokensPath);

            // the image and the keep mask on the last scale's token grid, checked before any model is loaded
            int size = tc.ImageSize, side = tc.PatchNums[^1];
            var (px, w, h) = ImageFiles.ReadPixels(file, tc.InChannels);
            Tensor keep;
            if (boxText != null)
            {
                var b = ParseBox(boxText);
                keep = ZeroShotEditor.BoxKeepMask(side, b[0], b[1], b[2], b[3], editMode);
            }
            else
            {
                var (mp, mw, mh) = ImageFiles.ReadPixels(maskPath!, 1);
                if (mw != w || mh != h) throw new MvarException($"the mask {maskPath} is {mw}x{mh} but the image is {w}x{h}");
                (mp, mw, mh) = ImageFiles.ResizeAndCrop(mp, mw, mh, 1, size);
                int on = mp.Count(v => v >= 128);
                if (on == 0) throw new MvarException($"the mask {maskPath} is empty (no white pixel): there is no region");
                if (on == mp.Length) throw new MvarException($"the mask {maskPath} is full (all white): the region is the whole image");
                using var region = tensor(mp, dtype: ScalarType.Byte).reshape(mh, mw).to_type(ScalarType.Float32).div_(255);
                keep = ZeroShotEditor.RegionToKeepMask(region, side, editMode);
            }
            ZeroShotEditor.CheckKeepMask(keep);

            using var _ = no_grad();
            var (tokenizer, transformer) = models.Load(p, modelConfig);
            using var _t = tokenizer;
            using var _m = transformer;
            var sampler = new ScaleSampler(transformer, tokenizer);
            using var scope = NewDisposeScope();
            var (cpx, cw, ch) = ImageFiles.ResizeAndCrop(px, w, h, tc.InChannels, size);
            var img = ImageFiles.PixelsToTensor(cpx, cw, ch, tc.InChannels).unsqueeze(0);
            var tokens = tokenizer.ImgToIdxBl(img);
            using var result = ZeroShotEditor.Edit(sampler, tokens, keep, classId ?? ScaleSampler.NoClass, n, options,
                step => Console.Error.WriteLine($"scale {step.Si + 1}/{step.ScaleCount} ({step.Side}x{step.Side}) {step.Elapsed.TotalSeconds:F1}s"));
            var edits = tokenizer.FhatToImg(result.FHat);
            // the mask panel: white where tokens of the last scale are generated, black where the image's are kept
            var generated = keep.le(0.5).to_type(ScalarType.Float32).mul(2).sub(1).reshape(1, 1, side, side);
            var maskPanel = nn.functional.interpolate(generated, size: [size, size], mode: InterpolationMode.Nearest)[0].expand(img.shape[1], -1, -1);
            var cells = new List<Tensor> { img[0], maskPanel };
            cells.AddRange(ImageFiles.Unbatch(edits));
            ImageFiles.SaveGrid(cells, outPath);
            if (tokensPath != null) result.ToTokenFile().Save(tokensPath);
            Console.Error.WriteLine($"wrote {outPath}: input, mask and {n} edit(s) ({editMode.ToString().ToLowerInvariant()}, "
                + (classId is { } k ? $"class {k}" : "no class") + $"), seed {result.Seed}");
            return 0;
        });
    }

    static double[] ParseBox(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4) throw new MvarException($"--box needs four numbers x0,y0,x1,y1, got \"{text}\"");
        return parts.Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v : throw new MvarException($"--box: \"{s}\" is not a number")).ToArray();
    }
}
