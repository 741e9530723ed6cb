using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Tokenizer;

/// <summary>Picks the phi of scale si (of SN) from a shared set, by the relative position si/(SN-1).</summary>
public interface IPhiSelector
{
    /// <summary>Index of the phi used at relative position <paramref name="at"/> in [0, 1].</summary>
    int IndexAt(double at);
    nn.Module<Tensor, Tensor> At(double at);
}

/// <summary>Helpers shared by the phi selectors.</summary>
public static class PhiTicks
{
    /// <summary>
    /// The anchor position of each of K phis: numpy linspace(1/(3K), 1-1/(3K), K) for K == 4, else
    /// linspace(1/(2K), 1-1/(2K), K) (computed like numpy: start + i*step, last one exactly stop).
    /// </summary>
    public static double[] For(int K)
    {
        double start = K == 4 ? 1.0 / 3 / K : 1.0 / 2 / K, stop = 1 - start;
        var ticks = new double[K];
        if (K == 1) { ticks[0] = start; return ticks; }
        double step = (stop - start) / (K - 1);
        for (int i = 0; i < K; i++) ticks[i] = i * step + start;
        ticks[K - 1] = stop;
        return ticks;
    }

    /// <summary>numpy argmin(|ticks - at|): the first closest tick.</summary>
    public static int Nearest(double[] ticks, double at)
    {
        int best = 0;
        for (int i = 1; i < ticks.Length; i++)
            if (Math.Abs(ticks[i] - at) < Math.Abs(ticks[best] - at)) best = i;
        return best;
    }

    /// <summary>The relative position si/(SN-1) of scale si (0 when there is a single scale).</summary>
    public static double Position(int si, int SN) => SN > 1 ? (double)si / (SN - 1) : 0.0;
}

/// <summary>share_quant_resi = K >= 2: K phis shared by nearby scales (VAR's default, K = 4).</summary>
public sealed class PhiPartiallyShared : nn.Module, IPhiSelector
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> qresi_ls;
    readonly double[] ticks;

    public PhiPartiallyShared(IEnumerable<nn.Module<Tensor, Tensor>> phis) : base(nameof(PhiPartiallyShared))
    {
        qresi_ls = new ModuleList<nn.Module<Tensor, Tensor>>(phis.ToArray());
        ticks = PhiTicks.For(qresi_ls.Count);
        RegisterComponents();
    }

    public int IndexAt(double at) => PhiTicks.Nearest(ticks, at);
    public nn.Module<Tensor, Tensor> At(double at) => qresi_ls[IndexAt(at)];
}

/// <summary>share_quant_resi = 1: one phi for every scale.</summary>
public sealed class PhiShared : nn.Module, IPhiSelector
{
    readonly nn.Module<Tensor, Tensor> qresi;

    public PhiShared(nn.Module<Tensor, Tensor> phi) : base(nameof(PhiShared))
    {
        qresi = phi;
        RegisterComponents();
    }

    public int IndexAt(double at) => 0;
    public nn.Module<Tensor, Tensor> At(double at) => qresi;
}

/// <summary>share_quant_resi = 0: one phi per scale (a plain list: keys <c>quant_resi.{i}.weight</c>).</summary>
public sealed class PhiNonShared : ModuleList<nn.Module<Tensor, Tensor>>, IPhiSelector
{
    readonly double[] ticks;

    public PhiNonShared(IEnumerable<nn.Module<Tensor, Tensor>> phis) : base(phis.ToArray())
    {
        ticks = PhiTicks.For(Count);
    }

    public int IndexAt(double at) => PhiTicks.Nearest(ticks, at);
    public nn.Module<Tensor, Tensor> At(double at) => this[IndexAt(at)];
}
