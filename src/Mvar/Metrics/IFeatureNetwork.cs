using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>
/// A network that scores images for the metrics: features (FID, precision/recall) and class probabilities
/// (Inception Score). Mvar ships <see cref="FashionClassifier"/>; the standard InceptionV3 can be added behind this
/// interface by whoever has its weights.
/// </summary>
public interface IFeatureNetwork
{
    /// <summary>A name stored with cached reference statistics, so statistics of different networks never mix.</summary>
    string Name { get; }
    int FeatureDim { get; }

    /// <summary>Images (B, C, H, W) in [-1, 1] of any size and 1 or 3 channels: features (B, FeatureDim) and probabilities (B, classes).</summary>
    (Tensor Features_BD, Tensor Probs_BK) Score(Tensor images_BCHW);
}
