using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>
/// Attention probabilities of one block in one forward call, for analysis. <paramref name="Probs_BHqk"/> is
/// (B, heads, queries, keys) over the keys the call's queries may see: the call's tokens for dense attention (masked
/// entries are 0), the cached plus new tokens for VAR inference. For neighbourhood attention (MVAR's large scales)
/// it is the UNWINDOWED within-map softmax of the same q and k (<paramref name="Unwindowed"/> true): what dense
/// within-scale attention would put on every key; the block's output still uses the window. Valid only during the callback.
/// </summary>
public sealed record AttentionProbs(int Block, Tensor Probs_BHqk, bool Unwindowed);

/// <summary>Receives the attention probabilities of every block (see <see cref="AttentionProbs"/>); null (the default) costs nothing.</summary>
public delegate void AttentionProbe(AttentionProbs probs);
