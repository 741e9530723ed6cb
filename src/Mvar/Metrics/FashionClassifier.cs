using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Metrics;

/// <summary>
/// Mvar's own feature network for Fashion-MNIST (Inception weights cannot be downloaded here): a small CNN on 28x28
/// grey images. Its penultimate layer (256 features) serves FID and precision/recall, its softmax the Inception Score.
/// Any input is converted to grey (channel mean) and area-resized to 28x28 first.
/// </summary>
public sealed class FashionClassifier : nn.Module<Tensor, Tensor>, IFeatureNetwork
{
    public const int Side = 28, Classes = 10, Features = 256;

    readonly Conv2d conv1, conv2, conv3;
    readonly BatchNorm2d bn1, bn2, bn3;
    readonly Linear fc, head;
    readonly Dropout drop;

    public FashionClassifier() : base(nameof(FashionClassifier))
    {
        conv1 = nn.Conv2d(1, 32, 3, padding: 1); bn1 = nn.BatchNorm2d(32);
        conv2 = nn.Conv2d(32, 64, 3, padding: 1); bn2 = nn.BatchNorm2d(64);
        conv3 = nn.Conv2d(64, 128, 3, padding: 1); bn3 = nn.BatchNorm2d(128);
        fc = nn.Linear(128 * 7 * 7, Features);
        head = nn.Linear(Features, Classes);
        drop = nn.Dropout(0.3);
        RegisterComponents();
    }

    public string Name => "fashion-mnist-cnn";

    /// <summary>Where Mvar ships the trained weights, relative to the repository root.</summary>
    public const string ShippedWeights = "models/fashion-mnist/classifier.safetensors";

    /// <summary>The network with the weights of <paramref name="path"/> (default: the shipped ones, found above the program's folder).</summary>
    public static FashionClassifier Load(string? path = null)
    {
        path ??= Mvar.Config.ShippedModel.FindFile(ShippedWeights)
            ?? throw new
            MvarException($"no classifier weights given and {ShippedWeights} was not found above {AppContext.BaseDirectory}: train the classifier and "
            + $"give the path of its weights");
        var net = new FashionClassifier();
        Mvar.IO.StateDictLoader.LoadInto(net, Mvar.IO.Checkpoint.LoadStateDict(path), path);
        net.eval();
        return net;
    }

    public int FeatureDim => Features;

    /// <summary>Largest side taken for 28x28 images padded to a model's size (Mvar pads Fashion-MNIST to 32x32).</summary>
    public const int MaxPaddedSide = 36;

    /// <summary>
    /// Grey 28x28 in [-1, 1] of any image batch. Square images of up to <see cref="MaxPaddedSide"/> pixels are
    /// Fashion-MNIST padded to a model's size (training's <c>small_images: "pad"</c>): their centre 28x28 is taken, so
    /// the garment keeps the scale the classifier saw. Resizing them instead shrinks every garment by 12 % and moves
    /// real padded images to FID 568 from the test set. Other sizes are area-resized.
    /// </summary>
    public static Tensor Prepare(Tensor images_BCHW)
    {
        var x = images_BCHW.shape[1] == 1 ? images_BCHW : images_BCHW.mean([1], keepdim: true);
        long h = x.shape[2], w = x.shape[3];
        if (h == Side && w == Side) return x;
        if (h == w && h > Side && h <= MaxPaddedSide)
        {
            long o = (h - Side) / 2;
            return x.narrow(2, o, Side).narrow(3, o, Side);
        }
        return F.interpolate(x, [Side, Side], mode: InterpolationMode.Area);
    }

    /// <summary>Penultimate features (B, 256).</summary>
    public Tensor FeaturesOf(Tensor images_BCHW)
    {
        var x = Prepare(images_BCHW);
        x = F.relu(bn1.forward(conv1.forward(x)));                          // 28x28
        x = F.max_pool2d(F.relu(bn2.forward(conv2.forward(x))), 2);         // 14x14
        x = F.max_pool2d(F.relu(bn3.forward(conv3.forward(x))), 2);         // 7x7
        return F.relu(fc.forward(x.flatten(1)));
    }

    /// <summary>Class logits (B, 10).</summary>
    public override Tensor forward(Tensor images_BCHW) => head.forward(drop.forward(FeaturesOf(images_BCHW)));

    /// <summary>Scoring is inference: switches the network to eval mode (batch-norm statistics, no dropout).</summary>
    public (Tensor Features_BD, Tensor Probs_BK) Score(Tensor images_BCHW)
    {
        if (training) eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var f = FeaturesOf(images_BCHW);
        var p = head.forward(f).softmax(-1);
        return (f.MoveToOuterDisposeScope(), p.MoveToOuterDisposeScope());
    }
}
