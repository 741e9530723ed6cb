using Mvar.IO;
using Mvar.Training.Adversarial;
using static TorchSharp.torch;

namespace Mvar.Tests.Training.Adversarial;

public class LpipsTests
{
    [Fact]
    public void HasTheParameterNamesAndShapesOfTheTwoPublishedFiles()
    {
        using var m = new Lpips();
        var sd = m.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        // torchvision VGG16 features: 13 convolutions at these indices
        int[] convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
        int[] outs = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
        for (int i = 0; i < convs.Length; i++)
        {
            Assert.Equal(new long[] { outs[i], i == 0 ? 3 : outs[i - 1], 3, 3 }, sd[$"features.{convs[i]}.weight"]);
            Assert.Equal(new long[] { outs[i] }, sd[$"features.{convs[i]}.bias"]);
        }
        int[] tapChannels = [64, 128, 256, 512, 512];
        for (int k = 0; k < 5; k++) Assert.Equal(new long[] { 1, tapChannels[k], 1, 1 }, sd[$"lin{k}.model.1.weight"]);
        Assert.Equal(26 + 5, sd.Count);
        Assert.All(m.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void RandomWeightsLoadFromFilesAndGiveADistanceThatVanishesOnEqualImages()
    {
        string dir = Fixtures.TempDir();
        string vgg = Path.Combine(dir, "vgg16.pth"), lin = Path.Combine(dir, "vgg.pth");
        using (var src = new Lpips())
        {
            using (no_grad()) foreach (var p in src.parameters()) p.uniform_(0, 0.1);
            var sd = src.state_dict();
            var vggSd = sd.Where(kv => kv.Key.StartsWith("features.", StringComparison.Ordinal)).ToDictionary();
            vggSd["classifier.0.weight"] = zeros(4, 4);   // torchvision's file holds the classifier too: ignored
            Checkpoint.SaveStateDict(vgg, vggSd);
            Checkpoint.SaveStateDict(lin, sd.Where(kv => kv.Key.StartsWith("lin", StringComparison.Ordinal)).ToDictionary());
        }
        using var m = Lpips.Load(vgg, lin);
        using var x = rand(2, 1, 48, 48) * 2 - 1;
        using var y = rand(2, 1, 48, 48) * 2 - 1;
        Assert.Equal(0, m.Distance(x, x).item<float>(), 6);
        var xr = x.detach().clone().requires_grad_();
        var d = m.Distance(xr, y);
        Assert.True(d.item<float>() > 0);
        d.backward();
        Assert.True(xr.grad!.abs().sum().item<float>() > 0);   // the gradient reaches the images
    }

    [Fact]
    public void MissingOrMismatchedWeightFilesAreClearErrors()
    {
        string dir = Fixtures.TempDir();
        var e = Assert.Throws<CheckpointException>(() => Lpips.Load(Path.Combine(dir, "none.pth"), Path.Combine(dir, "vgg.pth")));
        Assert.Contains("VGG16 weights file not found", e.Message);
        string vgg = Path.Combine(dir, "vgg16.pth"), lin = Path.Combine(dir, "vgg.pth");
        using (var src = new Lpips())
        {
            var sd = src.state_dict();
            Checkpoint.SaveStateDict(vgg, sd.Where(kv => kv.Key.StartsWith("features.", StringComparison.Ordinal)).ToDictionary());
            var bad = sd.Where(kv => kv.Key.StartsWith("lin", StringComparison.Ordinal)).ToDictionary();
            bad["lin0.model.1.weight"] = zeros(1, 32, 1, 1);
            Checkpoint.SaveStateDict(lin, bad);
        }
        var e2 = Assert.Throws<CheckpointException>(() => Lpips.Load(vgg, lin));
        Assert.Contains("lin0.model.1.weight", e2.Message);
    }
}
