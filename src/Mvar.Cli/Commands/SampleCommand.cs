using System.CommandLine;
using System.Diagnostics;
using Mvar.Config;
using Mvar.IO;
using Mvar.Sampling;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Cli.Commands;

/// <summary><c>mvar sample</c>: class-conditional image generation with a VAR or MVAR checkpoint.</summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var models = new ModelOptions();
        var classes = new Option<string?>("--class")
        {
            Description =
            "comma-separated class ids, e.g. 3,7, or all (one sample each, times --count; default: all when the model has at most 16 classes)"
        };
        var random = new Option<bool>("--random-classes")
        {
            Description =
            "draw the classes at random from the seeded generator (the default without --class for models of more than 16 classes)"
        };
        var count = new Option<int?>("--count")
        {
            Description =
            "samples per class with --class (default 1); number of samples with random classes (default 4)"
        };
        var sampling = new SamplingOptionSet("generator seed (same seed, same images; torch-compatible draws)", randomSeed: true, smooth: true);
        var output = new Option<string>("--out") { Description = "the image grid to write (PNG)", DefaultValueFactory = _ => "samples.png" };
        var tokensOut = new Option<string?>("--tokens-out") { Description = "also write the sampled tokens (JSON)" };
        var progression = new Option<string?>("--progression") { Description = "also write a grid (PNG): one row per sample, one column per scale" };
        var npz = new Option<string?>("--npz")
        {
            Description =
            "also write the samples as .npz (arr_0: uint8 N x H x W x 3, the layout of OpenAI's evaluation suite and of mvar eval)"
        };
        var dtype = new Option<string>("--dtype")
        {
            Description =
            "transformer compute type: float32 (exact, the default) or bf16 (faster on CPUs with bf16 support, approximate)",
            DefaultValueFactory = _ => "float32"
        };
        var gemm = BenchCommand.GemmOption();
        var cmd = new Command("sample", "Generate class-conditional images with a VAR or MVAR checkpoint")
        {
            classes, random, count, output, tokensOut, progression, npz, dtype, gemm,
        };
        sampling.AddTo(cmd);
        models.AddTo(cmd);
        return cmd.WithAction(p =>
        {
            var total = Stopwatch.StartNew();
            var modelConfig = models.ResolveConfig(p);
            var t = modelConfig.Transformer!;
            var options = sampling.From(p, modelConfig.Tokenizer.VocabSize);
            var classList = ParseClasses(p.GetValue(classes), p.GetValue(random), p.GetValue(count), t.NumClasses, out int randomCount);
            SamplingMemory.Require(modelConfig, classList?.Length ?? randomCount, "sampling", p.GetValue(progression) != null);
            string outPath = p.GetValue(output)!;
            string? tokensPath = p.GetValue(tokensOut), progressionPath = p.GetValue(progression), npzPath = p.GetValue(npz);
            foreach (var path in new[] { outPath, tokensPath, progressionPath, npzPath })
                if (path != null) TokenizerOptions.CheckWritable(path);

            var computeType = ComputeTypes.Parse(p.GetValue(dtype)!);
            var kernel = Mvar.Kernels.GemmKernels.Parse(p.GetValue(gemm)!);
            using var _ = no_grad();
            var (tokenizer, transformer) = models.Load(p, modelConfig);
            using var _t = tokenizer;
            using var _m = transformer;
            if (computeType != ScalarType.Float32) transformer.ToComputeType(computeType);
            Console.Error.WriteLine($"loaded {t.Arch.Name()} (depth {t.Depth}, {transformer.ParameterCount() / 1e6:F1}M parameters) in "
                + $"{total.Elapsed.TotalSeconds:F1}s");
            if (kernel != Mvar.Kernels.GemmKernel.Mkl) transformer.UseGemm(kernel, inferenceOnly: true);
            var sampler = new ScaleSampler(transformer, tokenizer);

            var perScale = new List<Tensor>();   // (B, C, H, W) per scale, for the progression grid
            using var result = sampler.Sample(classList, randomCount, options, step =>
            {
                Console.Error.WriteLine($"scale {step.Si + 1}/{step.ScaleCount} ({step.Side}x{step.Side}) {step.Elapsed.TotalSeconds:F1}s");
                if (progressionPath != null) perScale.Add(tokenizer.FhatToImg(step.FHat_BChw).DetachFromDisposeScope());
            });
            using var scope = NewDisposeScope();
            var images = tokenizer.FhatToImg(result.FHat);
            if (classList != null)   // one labelled row per class
                LabelledGrid.Save(classList.Select((c, i) => (c, i)).GroupBy(x => x.c)
                    .Select(g => (t.ClassName(g.Key), (IReadOnlyList<Tensor>)g.Select(x => images[x.i]).ToList())).ToList(), outPath);
            else ImageFiles.SaveGrid(ImageFiles.Unbatch(images), outPath, columns: Math.Min(8, (int)images.shape[0]));
            if (tokensPath != null) result.ToTokenFile().Save(tokensPath);
            if (npzPath != null) Npz.Save(npzPath, new Dictionary<string, Tensor> { ["arr_0"] = Npz.ToUint8NHWC(images) });
            if (progressionPath != null)
            {
                int B = (int)images.shape[0];
                var cells = Enumerable.Range(0, B).SelectMany(b => perScale.Select(s => s[b])).ToList();
                ImageFiles.SaveGrid(cells, progressionPath, columns: perScale.Count);
            }
            foreach (var s in perScale) s.Dispose();
            Console.Error.WriteLine($"wrote {outPath}: {ClassSummary.Of(result.Classes)}, seed {result.Seed}, "
                + $"total {total.Elapsed.TotalSeconds:F1}s" + (tokensPath != null ? $"; tokens in {tokensPath}" : "") + (npzPath != null
                    ? $"; arrays in {npzPath}" : "") + (progressionPath != null ? $"; progression in {progressionPath}" : ""));
            return 0;
        });
    }

    /// <summary>The classes to sample, or null for random classes (then <paramref name="randomCount"/> samples).</summary>
    static long[]? ParseClasses(string? text, bool random, int? count, int numClasses, out int randomCount)
    {
        if (count is < 1 or > SamplingMemory.MaxSamples) throw new MvarException($"--count must be within [1, {SamplingMemory.MaxSamples}], got {count}");
        randomCount = count ?? 4;
        if (text == null && (random || numClasses > 16)) return null;
        if (random) throw new MvarException("give either --class or --random-classes, not both");
        text ??= "all";
        if (text.Trim() == "all") text = string.Join(",", Enumerable.Range(0, numClasses));
        var ids = new List<long>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part, out long id)) throw new MvarException($"--class: \"{part}\" is not a class id");
            if (id < 0 || id >= numClasses) throw new MvarException($"unknown class id {id}: the model has classes 0..{numClasses - 1}");
            ids.Add(id);
        }
        int per = count ?? 1;
        if ((long)ids.Count * per > SamplingMemory.MaxSamples)
            throw new MvarException($"{ids.Count} classes x --count {per} is more than the {SamplingMemory.MaxSamples} samples accepted at once");
        return ids.SelectMany(id => Enumerable.Repeat(id, per)).ToArray();
    }
}
