using System.Globalization;
using Mvar.IO;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Training.Adversarial;

/// <summary>
/// The LPIPS perceptual distance (Zhang et al. 2018, "vgg" variant): images in [-1, 1] are shifted and scaled
/// channel-wise, passed through torchvision's VGG16 <c>features</c>; at relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3
/// the channel-normalised activations of the two images are subtracted, squared, weighted by LPIPS's learnt 1x1
/// convolutions (<c>lin0..lin4</c>), averaged over space and summed. Grey images are repeated to three channels.
/// Parameter names are those of the two published weight files (torchvision's <c>vgg16-*.pth</c>: <c>features.N.*</c>;
/// LPIPS's <c>vgg.pth</c>: <c>linK.model.1.weight</c>), so <see cref="Load"/> reads them as they are. Frozen; the
/// gradient flows to the images.
/// </summary>
public sealed class Lpips : nn.Module
{
    /// <summary>VGG16's feature layers: channels, 0 for max-pooling.</summary>
    static readonly int[] Vgg16 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512];
    /// <summary>The indices in <c>features</c> of the ReLUs LPIPS reads (relu1_2 ... relu5_3).</summary>
    public static readonly int[] Taps = [3, 8, 15, 22, 29];
    static readonly int[] TapChannels = [64, 128, 256, 512, 512];
    /// <summary>LPIPS's scaling layer (ImageNet statistics of images in [-1, 1]).</summary>
    static readonly float[] Shift = [-0.030f, -0.088f, -0.188f], Scale = [0.458f, 0.448f, 0.450f];
    /// <summary>Below this side LPIPS is not used (vaex's rule: VGG's receptive fields need room).</summary>
    public const int MinImageSize = 48;

    readonly Sequential features;
    readonly NetLin lin0, lin1, lin2, lin3, lin4;
    readonly Tensor shift, scale;

    public Lpips() : base(nameof(Lpips))
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long cin = 3;
        foreach (int c in Vgg16)
        {
            if (c == 0) { layers.Add((layers.Count.ToString(CultureInfo.InvariantCulture), nn.MaxPool2d(2, 2))); continue; }
            layers.Add((layers.Count.ToString(CultureInfo.InvariantCulture), nn.Conv2d(cin, c, 3, padding: 1)));
            layers.Add((layers.Count.ToString(CultureInfo.InvariantCulture), nn.ReLU()));
            cin = c;
        }
        features = nn.Sequential(layers);
        (lin0, lin1, lin2, lin3, lin4) = (new NetLin(TapChannels[0]), new NetLin(TapChannels[1]), new NetLin(TapChannels[2]), new NetLin(TapChannels[3]),
            new NetLin(TapChannels[4]));
        shift = tensor(Shift).view(1, 3, 1, 1);
        scale = tensor(Scale).view(1, 3, 1, 1);
        RegisterComponents();
        eval();
        foreach (var p in parameters()) p.requires_grad = false;
    }

    /// <summary>The LPIPS model with the weights of torchvision's VGG16 file and LPIPS's linear-layer file.</summary>
    public static Lpips Load(string vggPath, string linPath)
    {
        foreach (var (path, what) in new[] { (vggPath, "VGG16 weights"), (linPath, "LPIPS linear-layer weights") })
            if (!File.Exists(path)) throw new CheckpointException($"LPIPS: {what} file not found: {path}");
        var vgg = Checkpoint.LoadStateDict(vggPath);
        var lin = Checkpoint.LoadStateDict(linPath);
        var sd = vgg.Where(kv => kv.Key.StartsWith("features.", StringComparison.Ordinal)).Concat(lin.Where(kv => kv.Key.StartsWith("lin",
            StringComparison.Ordinal)))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var model = new Lpips();
        StateDictLoader.LoadInto(model, sd, $"LPIPS weights ({vggPath}, {linPath})", k => k is "shift" or "scale");
        foreach (var t in vgg.Values.Concat(lin.Values)) t.Dispose();
        return model;
    }

    /// <summary>The mean LPIPS distance between two image batches (B, C, H, W) in [-1, 1], C = 1 or 3.</summary>
    public Tensor Distance(Tensor x_BChw, Tensor y_BChw)
    {
        using var scope = NewDisposeScope();
        long B = x_BChw.shape[0];
        var h = cat(new[] { Prepare(x_BChw), Prepare(y_BChw) }, 0);
        var lins = new[] { lin0, lin1, lin2, lin3, lin4 };
        Tensor total = zeros(B);
        int tap = 0;
        int index = 0;
        foreach (var layer in features.children().Cast<nn.Module<Tensor, Tensor>>())
        {
            h = layer.forward(h);
            if (tap < Taps.Length && index == Taps[tap])
            {
                var n = h / (h.pow(2).sum(1, keepdim: true).sqrt() + 1e-10);
                var d = (n.narrow(0, 0, B) - n.narrow(0, B, B)).pow(2);
                total = total + lins[tap].forward(d).mean(new long[] { 1, 2, 3 });
                if (++tap == Taps.Length) break;
            }
            index++;
        }
        return total.mean().MoveToOuterDisposeScope();
    }

    Tensor Prepare(Tensor x)
    {
        if (x.shape[1] == 1) x = x.expand(-1, 3, -1, -1);
        else if (x.shape[1] != 3) throw new MvarException($"LPIPS takes 1 or 3 channels, got {x.shape[1]}");
        return (x - shift) / scale;
    }

    /// <summary>LPIPS's <c>NetLinLayer</c>: dropout (a no-op at evaluation) then a 1x1 convolution to one channel, no bias.</summary>
    sealed class NetLin : nn.Module<Tensor, Tensor>
    {
        readonly Sequential model;
        public NetLin(long channels) : base("NetLinLayer")
        {
            model = nn.Sequential(("0", (nn.Module<Tensor, Tensor>)nn.Dropout(0.5)), ("1", nn.Conv2d(channels, 1, 1, bias: false)));
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => model.forward(x);
    }
}
