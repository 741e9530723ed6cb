using Mvar.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

public class LeanAdamWTests
{
    static (List<Parameter> decay, List<Parameter> noDecay) Params(int seed)
    {
        var g = new Generator((ulong)seed);
        Parameter P(params long[] shape) => new(randn(shape, generator: g));
        return ([P(16, 8), P(4, 3, 5)], [P(8), P(1)]);
    }

    static AdamW Build(Func<IEnumerable<AdamW.ParamGroup>, AdamW> make, List<Parameter> d, List<Parameter> nd) => make(
    [
        new AdamW.ParamGroup(d, new AdamW.Options { LearningRate = 0.01, weight_decay = 0.05, beta1 = 0.9, beta2 = 0.95 }),
        new AdamW.ParamGroup(nd, new AdamW.Options { LearningRate = 0.01, weight_decay = 0, beta1 = 0.9, beta2 = 0.95 }),
    ]);

    [Fact]
    public void StepsGiveBitwiseTheWeightsAndStateOfTorchSharpsAdamW()
    {
        var (d1, nd1) = Params(1); var (d2, nd2) = Params(1);
        using var reference = Build(g => optim.AdamW(g, 0.01, 0.9, 0.95, 1e-8, 0), d1, nd1);
        using var lean = Build(g => LeanAdamW.Create(g, 0.01, 0.9, 0.95, 1e-8, 0), d2, nd2);
        var gradGen = new Generator(7);
        var all1 = d1.Concat(nd1).ToList(); var all2 = d2.Concat(nd2).ToList();
        for (int step = 0; step < 4; step++)
        {
            for (int i = 0; i < all1.Count; i++)
            {
                // the last parameter gets no gradient at step 2: both must leave it and its state alone
                if (step == 2 && i == all1.Count - 1) { all1[i].grad = null; all2[i].grad = null; continue; }
                var grad = randn(all1[i].shape, generator: gradGen);
                all1[i].grad = grad.clone(); all2[i].grad = grad.clone();
            }
            reference.step(); lean.step();
            for (int i = 0; i < all1.Count; i++)
                Assert.True(all1[i].eq(all2[i]).all().item<bool>(), $"parameter {i} differs after step {step}");
        }
        // the optimizer state (what checkpoints save) is the same, byte for byte (type name included: TorchSharp checks it on load)
        string f1 = Path.Combine(Fixtures.TempDir(), "a.bin"), f2 = Path.Combine(Fixtures.TempDir(), "b.bin");
        reference.save_state_dict(f1); lean.save_state_dict(f2);
        Assert.Equal(File.ReadAllBytes(f1), File.ReadAllBytes(f2));
        lean.load_state_dict(f1);
    }
}
