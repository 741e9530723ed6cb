using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static Mvar.Tests.Transformer.ParityData;

namespace Mvar.Tests.IO;

/// <summary>The tokenizer and transformer loaders read .safetensors as well as .pth (the shipped models are .safetensors).</summary>
public class SafeTensorsModelLoadingTests
{
    [Fact]
    public void TokenizerAndTransformerLoadFromSafeTensorsWithTheSameWeights()
    {
        string dir = Fixtures.TempDir();
        string vae = Path.Combine(dir, "tokenizer.safetensors"), mvar = Path.Combine(dir, "mvar.safetensors");
        Checkpoint.SaveStateDict(vae, Tensors("vae.pth"));
        Checkpoint.SaveStateDict(mvar, Tensors("mvar.pth"));
        var config = ModelConfigOf("mvar");
        using var tokenizer = VqVaeLoader.Load(config.Tokenizer, vae);
        using var transformer = ScaleTransformer.Load(config, mvar);
        foreach (var (name, t) in tokenizer.state_dict()) TensorAssert.Equal(Vae.state_dict()[name], t, name);
        using var reference = Model("mvar", "mvar.pth");
        foreach (var (name, t) in transformer.state_dict()) TensorAssert.Equal(reference.state_dict()[name], t, name);
    }
}
