using Mvar.Config;
using Mvar.Training;
using Mvar.Transformer;
using static Mvar.Tests.Transformer.ParityData;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

/// <summary>Small training setups on the parity-fixture models (6 scales, vocab 64, depth 2, width 64).</summary>
public static class TrainingFixtures
{
    /// <summary>The fixture's two token maps (expected_vae gt_BL) with labels 3 and 7, as an in-memory data set.</summary>
    public static InMemoryTokens ParityTokens(int copies = 1)
    {
        var gt = Tensors("expected_vae.pth")["gt_BL"];
        long[] a = gt[0].data<long>().ToArray(), b = gt[1].data<long>().ToArray();
        var toks = new List<long[]>(); var labels = new List<int>();
        for (int i = 0; i < copies; i++) { toks.Add(a); labels.Add(3); toks.Add(b); labels.Add(7); }
        return new InMemoryTokens(toks.ToArray(), labels.ToArray());
    }

    public static ModelConfig Config(string arch, TrainingConfig training) => ModelConfigOf(arch) with { Training = training };

    /// <summary>Deterministic single-batch settings: no class dropout, no stochastic depth, no warm-up.</summary>
    public static TrainingConfig Plain(double lr = 1e-3) => new()
    {
        Epochs = 50, BatchSize = 2, Lr = lr, CondDropRate = 0, DropPathRate = 0, Tclip = 2.0, Wp = 1e-9, Sche = "lin0",
        LogEvery = 1, SaveEvery = 1000,
    };

    public static TransformerTrainer NewTrainer(string arch, TrainingConfig t, ITokenData data, string? weights = null)
    {
        var config = Config(arch, t);
        var model = ScaleTransformer.Create(config, initWeights: true, initGenerator: new TorchSharp.torch.Generator((ulong)t.Seed));
        if (weights != null) model.LoadStateDict(Tensors(weights), weights);
        return new TransformerTrainer(config, model, Vae.Quantize, data);
    }

    public static Dictionary<string, Tensor> Snapshot(TorchSharp.torch.nn.Module m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
}
