using System.Diagnostics;
using Mvar.Tokenizer;
using Mvar.Tokens;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Sampling;

/// <summary>
/// Class-conditional next-scale generation for VAR and MVAR (official <c>autoregressive_infer_cfg</c> /
/// <c>autoregressive_infer</c>): per scale, logits of that scale's tokens, classifier-free guidance
/// (1 + t) cond - t uncond with t = cfg * si / (K - 1), top-k / top-p filtering, one torch-1.13-style multinomial
/// draw per token from a seeded <see cref="TorchCpuGenerator"/>, then the tokenizer turns the tokens into the
/// next scale's input. VAR always runs the doubled (cond, uncond) batch; MVAR skips guidance when cfg == 1.
/// </summary>
public sealed class ScaleSampler(ScaleTransformer model, VqVae vae)
{
    /// <summary>
    /// The class id that asks for the unconditional ("no class") row of the class embedding, the row guidance uses
    /// (id num_classes in the checkpoint). Results report it as num_classes.
    /// </summary>
    public const long NoClass = long.MinValue;

    public ScaleTransformer Model { get; } = model;
    public VqVae Vae { get; } = vae;

    /// <summary><paramref name="count"/> class ids drawn uniformly as the official code does (multinomial over a uniform row).</summary>
    public static long[] RandomClasses(int count, int numClasses, TorchCpuGenerator gen)
    {
        var probs = Enumerable.Repeat(1.0f / numClasses, numClasses).ToArray();
        var cdf = new float[numClasses];
        return Enumerable.Range(0, count).Select(_ => (long)Multinomial.Invert(probs, gen.NextDouble(), cdf)).ToArray();
    }

    /// <summary>
    /// Generates one sample per class of <paramref name="classes"/>, or <paramref name="count"/> samples of random
    /// classes when <paramref name="classes"/> is null (drawn from the same seeded generator, like the official code).
    /// <paramref name="tokenOverride"/>, if given, replaces drawn tokens by reference tokens right after each draw and
    /// before the next scale's input is made (zero-shot editing); without it the sampler is exactly the official one.
    /// A class id may be <see cref="NoClass"/> for the unconditional row.
    /// </summary>
    public SampleResult Sample(IReadOnlyList<long>? classes, int count, SamplingOptions options, Action<ScaleStep>? onScale = null,
        TokenOverride? tokenOverride = null)
    {
        options.Validate();
        ulong seed = options.Seed ?? (ulong)Random.Shared.NextInt64(0, long.MaxValue);
        var gen = new TorchCpuGenerator(seed);
        var resolved = ResolveClasses(classes, count, gen);
        tokenOverride?.Validate(Model.Layout.PatchNums, resolved.Length);
        return Run(resolved, Enumerable.Repeat(gen, resolved.Length).ToArray(), options, seed, onScale, tokenOverride);
    }

    /// <summary>
    /// Samples several independent requests in one batch: each <see cref="SampleGroup"/> has its own seeded generator,
    /// which draws its random classes (if any) and then its tokens in exactly the order it would alone, so each group's
    /// tokens equal those of <see cref="Sample(IReadOnlyList{long}, int, SamplingOptions, Action{ScaleStep}, TokenOverride)"/> with that seed as long as the
    /// batched forward computes the same
    /// logits for its rows (row-wise operations; checked on the fixtures). <c>options.Seed</c> is ignored. The result
    /// holds the groups' samples in order; its <see cref="SampleResult.Seed"/> is the first group's.
    /// </summary>
    public SampleResult Sample(IReadOnlyList<SampleGroup> groups, SamplingOptions options, Action<ScaleStep>? onScale = null)
    {
        options.Validate();
        if (groups.Count == 0) throw new MvarException("no samples requested");
        var classes = new List<long>();
        var gens = new List<TorchCpuGenerator>();
        foreach (var g in groups)
        {
            var gen = new TorchCpuGenerator(g.Seed);
            var c = ResolveClasses(g.Classes, g.Count, gen);
            classes.AddRange(c);
            gens.AddRange(Enumerable.Repeat(gen, c.Length));
        }
        return Run(classes.ToArray(), gens.ToArray(), options, groups[0].Seed, onScale, null);
    }

    /// <summary>The classes to sample (random ones drawn from <paramref name="gen"/> when null), NoClass mapped to num_classes.</summary>
    long[] ResolveClasses(IReadOnlyList<long>? classes, int count, TorchCpuGenerator gen)
    {
        int numClasses = Model.NumClasses;
        if (classes is null)
        {
            if (count < 1) throw new MvarException($"the number of samples must be at least 1, got {count}");
            classes = RandomClasses(count, numClasses, gen);
        }
        if (classes.Count == 0) throw new MvarException("no classes to sample");
        foreach (var c in classes)
            if (c != NoClass && (c < 0 || c >= numClasses)) throw new MvarException($"unknown class id {c}: the model has classes 0..{numClasses - 1}");
        return classes.Select(c => c == NoClass ? numClasses : c).ToArray();
    }

    /// <summary>The scale loop; sample b draws from <paramref name="gen_B"/>[b] (the same instance for one request).</summary>
    SampleResult Run(long[] classes, TorchCpuGenerator[] gen_B, SamplingOptions options, ulong seed, Action<ScaleStep>? onScale,
        TokenOverride? tokenOverride)
    {
        int numClasses = Model.NumClasses;
        using var _ = no_grad();
        var layout = Model.Layout;
        var quant = Vae.Quantize;
        int B = classes.Length, K = layout.Count, V = Model.VocabSize, Cvae = Model.Cvae;
        bool guide = Model.Pattern.Guides(options.Cfg);
        var stopwatch = Stopwatch.StartNew();
        var tokens = new List<Tensor>();

        using var outer = NewDisposeScope();
        var label_B = tensor(classes.ToArray());
        var cond_BD = Model.ClassEmbedding(guide ? cat([label_B, full(B, (long)numClasses, dtype: ScalarType.Int64)]) : label_B);
        var lvlPos = Model.LevelPositions();
        var x_BlC = Model.FirstTokenMap(cond_BD, lvlPos);
        var f_hat = zeros(B, Cvae, layout.Side(K - 1), layout.Side(K - 1));
        using var cache = Model.NewKvCache();
        using var conditioning = Model.PrepareConditioning(cond_BD);   // the ada_lin outputs: once per sample, not per scale

        for (int si = 0; si < K; si++)
        {
            using var step = NewDisposeScope();
            int pn = layout.Side(si);
            double ratio = K == 1 ? 0 : (double)si / (K - 1);
            var logits_BlV = Model.StepLogits(x_BlC, conditioning, si, cache);
            if (guide)
            {
                // (1 + t) cond - t uncond, in place in the cond half (the same roundings as the out-of-place form)
                double t = options.Cfg * ratio;
                logits_BlV = logits_BlV.narrow(0, 0, B).mul_(1 + t).sub_(logits_BlV.narrow(0, B, B).mul_(t));
            }
            Tensor rawLogits = logits_BlV;
            long[] idx;
            if (options.MoreSmooth)
            {
                rawLogits = logits_BlV.clone();
                TopKTopP.Filter_(logits_BlV, options.TopK, options.TopP);
                int row = 0;
                idx = Multinomial.DrawOnePerRow(logits_BlV.softmax(-1).reshape(-1, V).contiguous().data<float>().ToArray(), V,
                    () => gen_B[row++ / (pn * pn)].NextDouble());
            }
            else idx = FilterAndDraw(logits_BlV, options, gen_B);
            var idx_Bl = tensor(idx, [B, pn * pn]);
            if (tokenOverride is not null) idx_Bl = tokenOverride.Apply(si, idx_Bl);

            Tensor h_BlCv = options.MoreSmooth
                ? quant.EmbedSoft(si, GumbelMix(logits_BlV.mul(1 + ratio), Math.Max(0.27 * (1 - ratio * 0.95), 0.005), gen_B))
                : quant.Embed(si, idx_Bl);
            if (options.MoreSmooth && tokenOverride is not null)   // kept positions: the reference embedding, not the mixture
                h_BlCv = where(tokenOverride.KeepMask(si).expand(B, -1).unsqueeze(-1), quant.Embed(si, idx_Bl), h_BlCv);
            var h_BChw = h_BlCv.transpose(1, 2).reshape(B, Cvae, pn, pn);
            var (_, next) = quant.GetNextAutoregressiveInput(si, K, f_hat, h_BChw);   // adds into f_hat in place
            if (si != K - 1)
            {
                var nx = Model.NextTokenMap(next, si + 1, lvlPos);
                x_BlC = (guide ? nx.repeat(2, 1, 1) : nx).MoveToOuterDisposeScope();
            }
            tokens.Add(idx_Bl.MoveToOuterDisposeScope());
            onScale?.Invoke(new ScaleStep(si, K, pn, idx_Bl, rawLogits, f_hat, stopwatch.Elapsed));
        }
        foreach (var t in tokens) t.MoveToOuterDisposeScope();
        f_hat.MoveToOuterDisposeScope();
        return new SampleResult(classes.ToArray(), new TokenMaps(layout, tokens), f_hat, seed) { KvCacheBytes = cache?.Bytes ?? 0 };
    }

    /// <summary>Rows filtered and drawn per chunk: the filter's temporaries stay small at large batches (B=16: 4096 rows of 4096).</summary>
    const int DrawChunkRows = 1024;

    /// <summary>
    /// Top-k/top-p filtering, softmax and one draw per row of <paramref name="logits_BlV"/> (left unchanged), a chunk of
    /// rows at a time. Every step is row-wise, so this is bitwise the same as filtering the whole tensor at once.
    /// </summary>
    static long[] FilterAndDraw(Tensor logits_BlV, SamplingOptions options, TorchCpuGenerator[] gen_B)
    {
        long V = logits_BlV.shape[^1], l = logits_BlV.shape[1];
        using var rows = logits_BlV.reshape(-1, V);
        long N = rows.shape[0];
        var idx = new long[N];
        var cdf = new float[V];
        for (long r0 = 0; r0 < N; r0 += DrawChunkRows)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(DrawChunkRows, N - r0);
            var chunk = rows.narrow(0, r0, n).clone();
            TopKTopP.Filter_(chunk, options.TopK, options.TopP);
            var probs = chunk.softmax(-1).data<float>().ToArray();
            for (int i = 0; i < n; i++) idx[r0 + i] = Multinomial.Invert(probs.AsSpan(i * (int)V, (int)V), gen_B[(r0 + i) / l].NextDouble(), cdf);
        }
        return idx;
    }

    /// <summary>softmax((logits + g) / tau) with Gumbel noise g = -log(E), E ~ Exp(1) from <paramref name="gen_B"/> (not torch's exponential stream).</summary>
    static Tensor GumbelMix(Tensor logits, double tau, TorchCpuGenerator[] gen_B)
    {
        var e = new float[logits.numel()];
        long perSample = e.Length / gen_B.Length;
        for (int i = 0; i < e.Length; i++) e[i] = (float)-Math.Log(-Math.Log(1 - gen_B[i / perSample].NextDouble()));
        return logits.add(tensor(e, logits.shape)).div(tau).softmax(-1);
    }

    /// <summary>Images in [0, 1] (B, 3, H, W) of a feature map, as the official demos return them.</summary>
    public Tensor DecodeToUnitRange(Tensor f_hat)
    {
        using var img = Vae.FhatToImg(f_hat);
        return img.add(1).mul_(0.5);
    }
}
