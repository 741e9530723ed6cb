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
