using Mvar.Config;
using Mvar.Tokens;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Analysis;

/// <summary>
/// Accumulates where attention mass goes in teacher-forced forwards, per block and query scale:
/// <list type="bullet">
/// <item>(a) scale mass: the share of a query's attention on each source scale (rows sum to 1);</item>
/// <item>(b) adjacent window: the mass on the adjacent coarser scale s-1 within the k x k window around the position
/// corresponding to the query, for every k of <see cref="Kernels"/>;</item>
/// <item>(c) own window: the mass on the query's own scale within the k x k window around the query itself.</item>
/// </list>
/// The corresponding position of query (i, j) of a pn_s map on a pn_t map is (floor((i + 0.5) pn_t / pn_s),
/// floor((j + 0.5) pn_t / pn_s)) (cell centres in scale coordinates; (i, j) itself when t = s). The window is NATTEN's:
/// start clamp(c - k/2, 0, pn_t - k), shifted inwards at borders so it always holds k x k keys; a k larger than the
/// map covers the whole map. Sums are over images, heads and query positions; <see cref="Report"/> normalises them.
/// </summary>
public sealed class AttentionStatistics
{
    public ScaleLayout Layout { get; }
    public int Depth { get; }
    public IReadOnlyList<int> Kernels { get; }
    readonly int K;
    readonly double[,,] scaleMass;    // [block, s, t]
    readonly double[,] queries;       // [block, s]: number of (image, head, query) triples
    readonly double[,,] adjWindow;    // [block, s, ki]
    readonly double[,,] ownWindow;    // [block, s, ki]
    readonly double[,] ownMass;       // [block, s]: mass on the own scale (also from unwindowed probabilities)
    /// <summary>Cached window index lists: [(s, t, k)] -> per query the key offsets (within scale t) of its window.</summary>
    readonly Dictionary<(int, int, int), int[][]> windows = new();
    public int Images { get; private set; }

    public static readonly int[] DefaultKernels = [1, 3, 5, 7, 9, 11, 13, 15];

    public AttentionStatistics(ScaleLayout layout, int depth, IReadOnlyList<int>? kernels = null)
    {
        Layout = layout; Depth = depth; K = layout.Count;
        Kernels = (kernels ?? DefaultKernels).ToArray();
        if (Kernels.Count == 0 || Kernels.Any(k => k < 1)) throw new ArgumentException("kernel sizes must be >= 1");
        scaleMass = new double[depth, K, K];
        queries = new double[depth, K];
        adjWindow = new double[depth, K, Kernels.Count];
        ownWindow = new double[depth, K, Kernels.Count];
        ownMass = new double[depth, K];
    }

    /// <summary>Counts images once per forward batch (call after feeding all blocks of a batch).</summary>
    public void AddImages(int n) => Images += n;

    /// <summary>
    /// Adds the probabilities (B, heads, l, l) of one block of a teacher-forced forward over the consecutive scales
    /// starting at <paramref name="firstScale"/> (queries and keys are the same tokens). With
    /// <paramref name="unwindowed"/> (MVAR's neighbourhood scales) only the own-scale statistics are taken.
    /// </summary>
    public void Add(int block, int firstScale, Tensor probs_BHqk, bool unwindowed = false)
    {
        if (probs_BHqk.dim() != 4 || probs_BHqk.shape[2] != probs_BHqk.shape[3])
            throw new ArgumentException($"expected teacher-forced probabilities (B, heads, l, l), got ({string.Join(", ", probs_BHqk.shape)})");
        int l = (int)probs_BHqk.shape[2], bg = Layout.Begin(firstScale);
        int end = firstScale;
        while (end < K && Layout.End(end) - bg < l) end++;
        if (end >= K || Layout.End(end) - bg != l) throw new ArgumentException($"{l} tokens from scale {firstScale} do not end at a scale boundary");
        end++;
        long n = probs_BHqk.shape[0] * probs_BHqk.shape[1];
        float[] P;
        using (var sum = probs_BHqk.detach().sum([0, 1]).to(CPU).to_type(ScalarType.Float32).contiguous())
            P = sum.data<float>().ToArray();
        for (int s = firstScale; s < end; s++)
        {
            int qs = Layout.Begin(s) - bg, ls = Layout.End(s) - Layout.Begin(s);
            queries[block, s] += n * ls;
            if (!unwindowed)
                for (int t = firstScale; t < end; t++)
                {
                    int ks = Layout.Begin(t) - bg, lt = Layout.End(t) - Layout.Begin(t);
                    double m = 0;
                    for (int i = 0; i < ls; i++)
                        for (int j = 0; j < lt; j++) m += P[(qs + i) * l + ks + j];
                    scaleMass[block, s, t] += m;
                }
            double own = 0;
            for (int i = 0; i < ls; i++)
                for (int j = 0; j < ls; j++) own += P[(qs + i) * l + qs + j];
            ownMass[block, s] += own;
            for (int ki = 0; ki < Kernels.Count; ki++)
            {
                ownWindow[block, s, ki] += WindowMass(P, l, qs, qs, s, s, Kernels[ki]);
                if (!unwindowed && s > firstScale)
                    adjWindow[block, s, ki] += WindowMass(P, l, qs, Layout.Begin(s - 1) - bg, s, s - 1, Kernels[ki]);
            }
        }
    }

    double WindowMass(float[] P, int l, int qOff, int kOff, int s, int t, int k)
    {
        var win = Window(s, t, k);
        double m = 0;
        for (int i = 0; i < win.Length; i++)
        {
            int row = (qOff + i) * l + kOff;
            foreach (int j in win[i]) m += P[row + j];
        }
        return m;
    }

    /// <summary>For each query position of scale s, the key positions (row-major within scale t) of its k x k window.</summary>
    public int[][] Window(int s, int t, int k)
    {
        if (windows.TryGetValue((s, t, k), out var w)) return w;
        int ps = Layout.Side(s), pt = Layout.Side(t), kk = Math.Min(k, pt);
        w = new int[ps * ps][];
        for (int i = 0; i < ps; i++)
            for (int j = 0; j < ps; j++)
            {
                int ci = (int)Math.Floor((i + 0.5) * pt / ps), cj = (int)Math.Floor((j + 0.5) * pt / ps);
                int r0 = Math.Clamp(ci - kk / 2, 0, pt - kk), c0 = Math.Clamp(cj - kk / 2, 0, pt - kk);
                var list = new int[kk * kk];
                for (int a = 0; a < kk; a++)
                    for (int b = 0; b < kk; b++) list[a * kk + b] = (r0 + a) * pt + c0 + b;
                w[i * ps + j] = list;
            }
        windows[(s, t, k)] = w;
        return w;
    }

    /// <summary>
    /// The normalised numbers. Scale mass: per block, mean over (image, head, query) of each row; averaged over blocks.
    /// Window fractions: window mass / mass on that scale, pooled over images, heads and queries (and blocks for the
    /// block average); the curves pool the query scales from the pattern's <see cref="IAttentionPattern.ProbeCurveFromScale"/> on.
    /// </summary>
    public AttentionReport Report(IAttentionPattern pattern)
    {
        int curveFromScale = pattern.ProbeCurveFromScale;
        int D = Depth, nk = Kernels.Count;
        double?[][] Mass(int? block)
        {
            var r = new double?[K][];
            for (int s = 0; s < K; s++)
            {
                r[s] = new double?[K];
                double q = Sum(block, b => queries[b, s]);
                for (int t = 0; t < K; t++) r[s][t] = q > 0 && HasCrossScale(block, s) ? Sum(block, b => scaleMass[b, s, t]) / q : null;
            }
            return r;
        }
        bool HasCrossScale(int? block, int s) => Sum(block, b => Enumerable.Range(0, K).Sum(t => scaleMass[b, s, t])) > 0;
        double? Frac(double num, double den) => den > 0 ? num / den : null;
        double?[][] PerScale(int? block, double[,,] win, Func<int, int, double> den, int firstS) =>
            Enumerable.Range(0, K).Select(s => Enumerable.Range(0, nk).Select(ki =>
                s < firstS ? null : Frac(Sum(block, b => win[b, s, ki]), Sum(block, b => den(b, s)))).ToArray()).ToArray();
        double?[] Curve(int? block, double[,,] win, Func<int, int, double> den, int firstS) =>
            Enumerable.Range(0, nk).Select(ki => Frac(
                Enumerable.Range(Math.Max(firstS, curveFromScale), Math.Max(0, K - Math.Max(firstS, curveFromScale))).Sum(s => Sum(block, b => win[b, s, ki])),
                Enumerable.Range(Math.Max(firstS, curveFromScale), Math.Max(0, K - Math.Max(firstS, curveFromScale))).Sum(s => Sum(block, b => den(b,
                    s))))).ToArray();
        double AdjDen(int b, int s) => s == 0 ? 0 : scaleMass[b, s, s - 1];
        double OwnDen(int b, int s) => ownMass[b, s];

        return new AttentionReport
        {
            Arch = pattern.Arch.Name(), PatchNums = Layout.PatchNums.ToArray(), Kernels = Kernels.ToArray(), Images = Images, Depth = D,
            KernelSize = pattern.Window?.KernelSize, RefineStep = pattern.Window?.FromScale, CurveFromScale = curveFromScale,
            AttendsEarlierScales = pattern.AttendsEarlierScales,
            ScaleMass = Mass(null),
            ScaleMassPerBlock = Enumerable.Range(0, D).Select(b => Mass(b)).ToArray(),
            AdjacentWindowFraction = PerScale(null, adjWindow, AdjDen, 1),
            AdjacentWindowCurve = Curve(null, adjWindow, AdjDen, 1),
            AdjacentWindowCurvePerBlock = Enumerable.Range(0, D).Select(b => Curve(b, adjWindow, AdjDen, 1)).ToArray(),
            OwnWindowFraction = PerScale(null, ownWindow, OwnDen, 0),
            OwnWindowCurve = Curve(null, ownWindow, OwnDen, 0),
            OwnWindowCurvePerBlock = Enumerable.Range(0, D).Select(b => Curve(b, ownWindow, OwnDen, 0)).ToArray(),
        };
    }

    double Sum(int? block, Func<int, double> f) => block is { } b ? f(b) : Enumerable.Range(0, Depth).Sum(f);
}
