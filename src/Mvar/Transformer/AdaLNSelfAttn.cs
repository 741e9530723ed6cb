using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Mvar.Transformer;

/// <summary>
/// One transformer block with adaptive LayerNorm: the class condition gives per-channel (gamma, scale, shift) for the
/// attention and the MLP branch: x += gamma1 * attn(LN(x) (1 + scale1) + shift1); x += gamma2 * ffn(LN(x) (1 + scale2) + shift2).
/// The six vectors come from this block's ada_lin (SiLU, Linear D -> 6C), or with shared_aln from the model's shared
/// projection plus this block's learnt ada_gss.
/// </summary>
public sealed class AdaLNSelfAttn : nn.Module
{
    readonly int C;
    readonly double normEps;
    readonly bool sharedAln;
    readonly SelfAttention attn;
    readonly FeedForward ffn;
    readonly Sequential? ada_lin;
    readonly Parameter? ada_gss;
    Linear? adaLinear => ada_lin is null ? null : (Linear)ada_lin[1];   // a property: a field would be registered twice

    public AdaLNSelfAttn(int blockIdx, int embedDim, int condDim, int numHeads, double mlpRatio, double normEps, bool attnL2Norm, bool sharedAln)
        : base(nameof(AdaLNSelfAttn))
    {
        C = embedDim; this.normEps = normEps; this.sharedAln = sharedAln;
        attn = new SelfAttention(blockIdx, embedDim, numHeads, attnL2Norm);
        ffn = new FeedForward(embedDim, (int)Math.Round(embedDim * mlpRatio, MidpointRounding.ToEven));
        register_module(nameof(attn), attn);
        register_module(nameof(ffn), ffn);
        if (sharedAln)
        {
            ada_gss = nn.Parameter(randn(1, 1, 6, embedDim).div_(Math.Sqrt(embedDim)));
            register_parameter(nameof(ada_gss), ada_gss);
        }
        else
        {
            ada_lin = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(condDim, 6 * embedDim)));
            register_module(nameof(ada_lin), ada_lin);
        }
    }

    /// <summary>Stochastic depth (official DropPath) of both residual branches; active only in training mode.</summary>
    public double DropPath { get; set; }
    /// <summary>The generator of the drop-path masks (null: the global one).</summary>
    public Generator? DropPathGenerator { get; set; }
    /// <summary>
    /// Data-parallel training: the masks are drawn for a global batch of this many rows and rows
    /// [<see cref="DropPathRowOffset"/>, + B) are used, so a sample's mask does not depend on how the batch is split
    /// (0: the batch is the global batch).
    /// </summary>
    public int DropPathGlobalRows { get; set; }
    public int DropPathRowOffset { get; set; }

    Tensor Drop(Tensor branch)
    {
        if (!training || DropPath <= 0) return branch;
        double keep = 1 - DropPath;
        long B = branch.shape[0], rows = DropPathGlobalRows > 0 ? DropPathGlobalRows : B;
        var mask = empty(rows, 1, 1, dtype: branch.dtype).bernoulli_(keep, DropPathGenerator).div_(keep);
        if (rows != B) mask = mask.narrow(0, DropPathRowOffset, B);
        return branch.mul(mask);
    }

    /// <param name="cond">the class embedding (B, D), or with shared_aln the shared projection (B, 1, 6, C)</param>
    /// <param name="probe">optional: receives the attention probabilities (analysis)</param>
    public Tensor forward(Tensor x_BLC, Tensor cond, AttentionSpec spec, AttentionProbe? probe = null) =>
        ForwardModulated(x_BLC, Modulation(cond), spec, probe);

    /// <summary>The six modulation vectors (B, 1, 6, C) of a condition: they depend on the class only, so inference computes them once per sample.</summary>
    public Tensor Modulation(Tensor cond) => sharedAln ? ada_gss!.add(cond) : ada_lin!.forward(cond).view(-1, 1, 6, C);

    /// <summary>The block with precomputed <see cref="Modulation"/> vectors.</summary>
    public Tensor ForwardModulated(Tensor x_BLC, Tensor six, AttentionSpec spec, AttentionProbe? probe = null)
    {
        var p = six.unbind(2);   // gamma1, gamma2, scale1, scale2, shift1, shift2: (B, 1, C) each
        Tensor gamma1 = p[0], gamma2 = p[1], scale1 = p[2], scale2 = p[3], shift1 = p[4], shift2 = p[5];
        // each branch's intermediates (attention scores, the MLP's hidden layer) are released before the next branch
        // runs, so a block holds one branch's working set at a time (autograd keeps what it needs by itself)
        using (var branch = NewDisposeScope())
            x_BLC = x_BLC.add(Drop(attn.forward(Norm(x_BLC).mul(scale1.add(1)).add_(shift1), spec, probe).mul_(gamma1))).MoveToOuterDisposeScope();
        using (var branch = NewDisposeScope())
            x_BLC = x_BLC.add(Drop(ffn.forward(Norm(x_BLC).mul(scale2.add(1)).add_(shift2)).mul(gamma2))).MoveToOuterDisposeScope();
        return x_BLC;
    }

    /// <summary>The official block initialisation on top of the generic one (residual projections scaled by 1/sqrt(2 depth)).</summary>
    internal void InitWeights(int depth, double initAdaln, double initAdalnGamma, Generator? generator)
    {
        attn.ProjWeight.div_(Math.Sqrt(2.0 * depth));
        ffn.Fc2Weight.div_(Math.Sqrt(2.0 * depth));
        if (adaLinear is not null)
        {
            adaLinear.weight!.narrow(0, 2 * C, 4 * C).mul_(initAdaln);
            adaLinear.weight!.narrow(0, 0, 2 * C).mul_(initAdalnGamma);
            adaLinear.bias!.zero_();
        }
        else
        {
            ada_gss!.normal_(0, 1 / Math.Sqrt(C), generator);   // its construction-time draw, from the init generator
            ada_gss!.narrow(2, 2, 4).mul_(initAdaln);
            ada_gss!.narrow(2, 0, 2).mul_(initAdalnGamma);
        }
    }

    Tensor Norm(Tensor x) => F.layer_norm(x, [C], null, null, normEps);
}
