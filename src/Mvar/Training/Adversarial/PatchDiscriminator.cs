using System.Globalization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Training.Adversarial;

/// <summary>
/// PatchGAN discriminator (taming-transformers' <c>NLayerDiscriminator</c>): <c>layers</c> stride-2 4x4 convolutions
/// (channels ndf, 2 ndf, 4 ndf, ... up to 8 ndf), one stride-1 convolution, then a 4x4 convolution to one logit per
/// patch. Leaky ReLU 0.2; batch norm after every convolution but the first and the last, or spectral normalisation of
/// every convolution instead (<c>spectralNorm</c>). Weights drawn from N(0, 0.02) (norm scales N(1, 0.02))
/// with the given generator, as taming's <c>weights_init</c>. Images (B, C, H, W) in [-1, 1] give logits (B, 1, h, w).
/// </summary>
public sealed class PatchDiscriminator : nn.Module<Tensor, Tensor>
{
    readonly Sequential main;

    public PatchDiscriminator(int inChannels, int channels, int layers, bool spectralNorm, Generator gen) : base(nameof(PatchDiscriminator))
    {
        var mods = new List<(string, nn.Module<Tensor, Tensor>)>();
        int i = 0;
        void Add(nn.Module<Tensor, Tensor> m) => mods.Add(((i++).ToString(CultureInfo.InvariantCulture), m));
        nn.Module<Tensor, Tensor> Conv(long cin, long cout, int stride, bool bias) =>
            spectralNorm ? new SpectralNormConv2d(cin, cout, 4, stride, 1, bias, gen) : nn.Conv2d(cin, cout, 4, stride: stride, padding: 1, bias: bias);

        Add(Conv(inChannels, channels, 2, true));
        Add(nn.LeakyReLU(0.2, inplace: true));
        long prev = channels;
        for (int n = 1; n <= layers; n++)
        {
            long cout = channels * Math.Min(1 << n, 8);
            Add(Conv(prev, cout, n < layers ? 2 : 1, spectralNorm));
            if (!spectralNorm) Add(nn.BatchNorm2d(cout));
            Add(nn.LeakyReLU(0.2, inplace: true));
            prev = cout;
        }
        Add(Conv(prev, 1, 1, true));
        main = nn.Sequential(mods);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            bool normScale = name.EndsWith(".weight", StringComparison.Ordinal) && p.dim() == 1;
            if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(normScale ? 1.0 : 0.0, 0.02, generator: gen);
        }
    }

    public override Tensor forward(Tensor img_BChw) => main.forward(img_BChw);
}

/// <summary>
/// A 2-D convolution whose weight is divided by its largest singular value, estimated by one power iteration per
/// training forward (PyTorch's <c>spectral_norm</c>; the vector u is a buffer, so it is saved and resumed).
/// </summary>
public sealed class SpectralNormConv2d : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight_orig;
    readonly Parameter? bias;
    readonly Tensor u;
    readonly long stride, padding;

    public SpectralNormConv2d(long cin, long cout, int kernel, long stride, long padding, bool bias, Generator gen) : base(nameof(SpectralNormConv2d))
    {
        this.stride = stride; this.padding = padding;
        weight_orig = new Parameter(empty(cout, cin, kernel, kernel));
        this.bias = bias ? new Parameter(zeros(cout)) : null;
        u = nn.functional.normalize(randn(new long[] { cout }, generator: gen), dim: 0, eps: 1e-12);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var w_OK = weight_orig.view(weight_orig.shape[0], -1);
        if (training)
            using (no_grad())
            {
                var v = nn.functional.normalize(w_OK.t().mv(u), dim: 0, eps: 1e-12);
                u.copy_(nn.functional.normalize(w_OK.mv(v), dim: 0, eps: 1e-12));
            }
        // sigma from a copy of u, as PyTorch's spectral_norm does: the next training forward (D sees real and then
        // fake images before one backward) updates u in place, which must not change what this graph recorded
        Tensor uu, vv;
        using (no_grad()) { uu = u.clone(); vv = nn.functional.normalize(w_OK.t().mv(uu), dim: 0, eps: 1e-12); }
        var sigma = uu.dot(w_OK.mv(vv));
        var w = weight_orig / sigma;
        return nn.functional.conv2d(x, w, bias, strides: new[] { stride, stride }, padding: new[] { padding, padding }).MoveToOuterDisposeScope();
    }
}
