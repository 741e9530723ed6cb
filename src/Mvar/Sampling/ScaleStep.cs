using static TorchSharp.torch;

namespace Mvar.Sampling;

/// <summary>
/// What the sampler reports after each scale. The tensors are only valid during the callback (they belong to
/// the step's dispose scope): clone what must outlive it.
/// </summary>
/// <param name="Logits_BlV">the logits the draw used, after guidance and before top-k/top-p filtering</param>
/// <param name="FHat_BChw">the cumulative feature map after this scale (decodable into a progression image)</param>
public sealed record ScaleStep(int Si, int ScaleCount, int Side, Tensor Tokens_Bl, Tensor Logits_BlV, Tensor FHat_BChw, TimeSpan Elapsed);
