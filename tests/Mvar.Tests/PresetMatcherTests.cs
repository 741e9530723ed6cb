using Mvar.Config;
using Mvar.IO;

namespace Mvar.Tests;

/// <summary>PresetMatcher switches TorchSharp's process-wide default device to meta: run alone.</summary>
[CollectionDefinition(nameof(DefaultDeviceCollection), DisableParallelization = true)]
public class DefaultDeviceCollection;

[Collection(nameof(DefaultDeviceCollection))]
public class PresetMatcherTests
{
    static readonly Dictionary<string, ModelConfig> TinyPresets = new()
    {
        ["tiny-vae"] = new ModelConfig { Tokenizer = ModelConfig.Load(Fixtures.Parity("../parity-tiny-mvar.json")).Tokenizer },
        ["tiny-var"] = ModelConfig.Load(Fixtures.Parity("../parity-tiny-mvar.json")).WithArch("var"),
        ["tiny-mvar"] = ModelConfig.Load(Fixtures.Parity("../parity-tiny-mvar.json")),
        ["tiny-deeper"] = ModelConfig.Load(Fixtures.Parity("../parity-tiny-mvar.json")) is var c
            ? c with { Transformer = c.Transformer! with { Depth = 3 } } : null!,
    };

    [Fact]
    public void OfficialFixtureCheckpointsMatchTheirConfigurations()
    {
        // VAR and MVAR share every parameter, so a transformer checkpoint fits both archs of its size
        Assert.Equal(["tiny-var", "tiny-mvar"], PresetMatcher.Matching(Checkpoint.LoadStateDict(Fixtures.Parity("var.pth")), TinyPresets));
        Assert.Equal(["tiny-var", "tiny-mvar"], PresetMatcher.Matching(Checkpoint.LoadStateDict(Fixtures.Parity("mvar_trainer.pth")), TinyPresets));
        Assert.Equal(["tiny-vae"], PresetMatcher.Matching(Checkpoint.LoadStateDict(Fixtures.Parity("vae.pth")), TinyPresets));
    }

    [Fact]
    public void AChangedShapeOrAMissingKeyMatchesNothing()
    {
        var sd = Checkpoint.LoadStateDict(Fixtures.Parity("var.pth"));
        sd["head.bias"] = TorchSharp.torch.zeros(65);
        Assert.Empty(PresetMatcher.Matching(sd, TinyPresets));
        sd = Checkpoint.LoadStateDict(Fixtures.Parity("var.pth"));
        sd.Remove("head.bias");
        Assert.Empty(PresetMatcher.Matching(sd, TinyPresets));
    }

    [Fact]
    public void TheFixturesMatchNoBuiltInPresetAndTheDefaultDeviceIsRestored()
    {
        Assert.Empty(PresetMatcher.Matching(Checkpoint.LoadStateDict(Fixtures.Parity("var.pth"))));
        Assert.Equal(TorchSharp.DeviceType.CPU, TorchSharp.torch.zeros(1).device_type);
        Assert.Equal(TorchSharp.DeviceType.CPU, TorchSharp.torch.nn.Linear(2, 2).weight!.device_type);
    }
}

[Collection(nameof(DefaultDeviceCollection))]
public class PresetBuildTests
{
    [Fact]
    public void EveryPresetBuildsWithItsAnalyticParameterCount()
    {
        // Built on the meta device (shapes only): d30's two billion parameters take no memory here.
        var previous = TorchSharp.torch.get_default_device();
        TorchSharp.torch.set_default_device(TorchSharp.torch.META);
        try
        {
            foreach (var (name, config) in Presets.All)
            {
                if (config.Transformer is null)
                {
                    using var vae = new Mvar.Tokenizer.VqVae(config.Tokenizer);
                    Assert.Equal(108_948_355L, vae.parameters().Sum(p => p.numel()));      // official: 108.9M
                    continue;
                }
                using var model = new Mvar.Transformer.ScaleTransformer(config.Transformer, config.Tokenizer, initWeights: false);
                Assert.Equal(Mvar.Transformer.ScaleTransformer.CountParameters(config.Transformer, config.Tokenizer), model.ParameterCount());
                if (name == "var-d36-512") Assert.Equal(2_353_893_904L, model.ParameterCount());   // official var_d36.pth
            }
        }
        finally { TorchSharp.torch.set_default_device(previous); }
    }

    /// <summary>The state dict (shapes only, on the meta device) of a preset's transformer.</summary>
    static Dictionary<string, TorchSharp.torch.Tensor> MetaStateDict(ModelConfig config)
    {
        var previous = TorchSharp.torch.get_default_device();
        TorchSharp.torch.set_default_device(TorchSharp.torch.META);
        try
        {
            var model = new Mvar.Transformer.ScaleTransformer(config.Transformer!, config.Tokenizer, initWeights: false);
            return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        finally { TorchSharp.torch.set_default_device(previous); }
    }

    [Fact]
    public void InspectRecognisesTheD36LayoutAndBackbonesAtOtherResolutions()
    {
        // what mvar inspect reports: var_d36.pth's keys and shapes (shared_ada_lin, no per-block ada_lin, L = 2240)
        var d36 = MetaStateDict(Presets.Get("var-d36-512"));
        Assert.Contains("shared_ada_lin.1.weight", d36.Keys);
        Assert.Contains("blocks.35.ada_gss", d36.Keys);
        Assert.Equal([1L, 2240, 2304], d36["pos_1LC"].shape);
        Assert.Equal(2_353_893_904L, CheckpointReport.Of(d36).Parameters);
        Assert.Equal(["var-d36-512"], PresetMatcher.Matching(d36));
        Assert.Equal(["var-d16 --resolution 1024", "mvar-d16 --resolution 1024"], PresetMatcher.Matching(MetaStateDict(Presets.Get("mvar-d16", 1024))));
        Assert.Equal(["var-d24 --resolution 512", "mvar-d24 --resolution 512"], PresetMatcher.Matching(MetaStateDict(Presets.Get("var-d24", 512))));
    }

    [Fact]
    public void D16RandomWeightsSaveAndLoadBack()
    {
        var config = Presets.Get("var-d16");
        string path = Path.Combine(Fixtures.TempDir(), "var-d16.safetensors");
        try
        {
            using (var model = Mvar.Transformer.ScaleTransformer.Create(config))
                Checkpoint.SaveStateDict(path, model.state_dict());
            var sd = Checkpoint.LoadStateDict(path);
            Assert.Equal(["var-d16", "mvar-d16"], PresetMatcher.Matching(sd));
            using var loaded = Mvar.Transformer.ScaleTransformer.Create(config.WithArch("mvar"));
            loaded.LoadStateDict(sd, path);
            TensorAssert.Equal(sd["blocks.7.ffn.fc2.weight"], loaded.state_dict()["blocks.7.ffn.fc2.weight"]);
            foreach (var t in sd.Values) t.Dispose();
        }
        finally { File.Delete(path); }
    }
}
