using Mvar.Config;
using Mvar.IO;
using Mvar.Tokenizer;
using static TorchSharp.torch;

namespace Mvar.Tests.Tokenizer;

/// <summary>The parity-fixture tokenizer (tests/data/parity/vae.pth) and its expected outputs, loaded once.</summary>
public static class TinyTokenizer
{
    public static string ConfigPath => Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny.json");
    public static TokenizerConfig Config => ModelConfig.Load(ConfigPath).Tokenizer;

    static readonly Lazy<VqVae> vae = new(() => VqVaeLoader.Load(Config, Fixtures.Parity("vae.pth")));
    static readonly Lazy<Dictionary<string, Tensor>> expected = new(() =>
    {
        var d = TorchCheckpoint.LoadStateDict(Fixtures.Parity("expected_vae.pth"));
        foreach (var t in d.Values) t.DetachFromDisposeScope();   // shared by tests that open their own scopes
        return d;
    });

    public static VqVae Vae => vae.Value;
    public static Dictionary<string, Tensor> Expected => expected.Value;
    public static Tensor E(string key) => Expected[key];
    public static int[] PhiIndexPerScale => [0, 0, 1, 2, 3, 3];
}

/// <summary>Tests sharing <see cref="TinyTokenizer"/> run one at a time (one module, one dispose-scope stack per thread).</summary>
[CollectionDefinition("TinyTokenizer", DisableParallelization = false)]
public sealed class TinyTokenizerCollection;
