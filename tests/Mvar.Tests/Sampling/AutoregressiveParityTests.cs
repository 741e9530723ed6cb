using Mvar.Kernels;
using Mvar.Sampling;
using Xunit.Abstractions;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Sampling;

public class AutoregressiveParityTests(ITestOutputHelper output)
{
    /// <summary>Every official run, on libtorch's sgemm and on oneDNN's prepacked float32 GEMM (the same tokens either way).</summary>
    public static TheoryData<string, string, string, string, GemmKernel> Runs()
    {
        var d = new TheoryData<string, string, string, string, GemmKernel>();
        foreach (var (arch, weights, file) in new[] { ("var", "var.pth", "expected_var.pth"), ("mvar", "mvar.pth", "expected_mvar.pth"), ("mvar", "var.pth",
            "expected_mvar_from_var.pth") })
            foreach (var run in new[] { "greedy_cfg1p0", "greedy_cfg1p5", "sampled_seed0" })
                foreach (var kernel in new[] { GemmKernel.Mkl, GemmKernel.OneDnn })
                    d.Add(arch, weights, file, run, kernel);
        return d;
    }

    static SamplingOptions OptionsOf(string run) => run switch
    {
        "greedy_cfg1p0" => new SamplingOptions { Cfg = 1.0, TopK = 1, TopP = 0, Seed = 123 },
        "greedy_cfg1p5" => new SamplingOptions { Cfg = 1.5, TopK = 1, TopP = 0, Seed = 123 },
        "sampled_seed0" => new SamplingOptions { Cfg = 1.5, TopK = 10, TopP = 0.9, Seed = 0 },
        _ => throw new ArgumentException(run),
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void AutoregressiveRunMatchesOfficial(string arch, string weights, string file, string run, GemmKernel kernel)
    {
        using var _ = no_grad();
        var exp = Tensors(file);
        using var model = Model(arch, weights);
        model.UseGemm(kernel);
        var sampler = new ScaleSampler(model, Vae);
        var classes = exp["infer_label_B"].data<long>().ToArray();
        double maxLogit = 0;
        using var result = sampler.Sample(classes, 0, OptionsOf(run), step =>
        {
            var key = $"ar_{run}_logits_s{step.Si}";
            maxLogit = Math.Max(maxLogit, MaxAbsDiff(step.Logits_BlV, exp[key]));
            AssertClose(exp[key], step.Logits_BlV, 1e-4, key);
        });
        for (int si = 0; si < model.Layout.Count; si++)
            Assert.Equal(exp[$"ar_{run}_idx_s{si}"].data<long>().ToArray(), result.Tokens[si].data<long>().ToArray());
        AssertClose(exp[$"ar_{run}_f_hat"], result.FHat, 1e-4, "f_hat");
        string msg =
            $"{file} {run} {kernel.Name()}: tokens identical, logits max|diff| {maxLogit:g3}, f_hat {MaxAbsDiff(result.FHat, exp[$"ar_{run}_f_hat"]):g3}";
        if (exp.TryGetValue($"ar_{run}_img", out var img))
        {
            using var ours = sampler.DecodeToUnitRange(result.FHat);
            AssertClose(img, ours, 1e-4, "img");
            msg += $", img {MaxAbsDiff(ours, img):g3}";
        }
        output.WriteLine(msg);
    }
}
