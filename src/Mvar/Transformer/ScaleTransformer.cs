using Mvar.Config;
using Mvar.IO;
using Mvar.Kernels;
using Mvar.Tokens;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Transformer;

/// <summary>
/// The next-scale prediction transformer shared by VAR and MVAR, with the official state-dict layout
/// (class_emb, pos_start, pos_1LC, lvl_embed, lvl_1L, attn_bias_for_masking, word_embed, [shared_ada_lin], blocks.N,
/// head_nm, head). The only architecture-specific part is the <see cref="IAttentionPattern"/>.
/// </summary>
public sealed class ScaleTransformer : nn.Module
{
    public TransformerConfig Config { get; }
    public ScaleLayout Layout { get; }
    public IAttentionPattern Pattern { get; }
    /// <summary>Channels of the tokenizer's latent (word_embed input).</summary>
    public int Cvae { get; }
    public int VocabSize { get; }
    public int NumClasses => Config.NumClasses;
    public int EmbedDim => Config.EmbedDim;
    public int Depth => Config.Depth;

    readonly Embedding class_emb, lvl_embed;
    readonly Parameter pos_start, pos_1LC;
    readonly Tensor lvl_1L, attn_bias_for_masking;
    readonly Linear word_embed;
    readonly Sequential? shared_ada_lin;
    readonly ModuleList<AdaLNSelfAttn> blocks;
    readonly AdaLNBeforeHead head_nm;
    readonly PackedLinear head;

    /// <summary>The key of the mask buffer: always rebuilt from the architecture, never taken from a checkpoint.</summary>
    public const string MaskBufferKey = "attn_bias_for_masking";

    /// <param name="initWeights">apply the official random initialisation (skip it when a checkpoint is loaded next)</param>
    /// <param name="initGenerator">the generator of that initialisation (null: the global one); seed it for reproducible runs</param>
    public ScaleTransformer(TransformerConfig config, TokenizerConfig tokenizer, IAttentionPattern? pattern = null, bool initWeights = true,
        Generator? initGenerator = null)
        : base(config.Arch.Name().ToUpperInvariant())
    {
        config.Validate(tokenizer);
        Config = config;
        Layout = new ScaleLayout(tokenizer.PatchNums);
        Pattern = pattern ?? DefaultPattern(config, Layout);
        if (Pattern.Arch != config.Arch) throw new ArgumentException($"attention pattern {Pattern.Arch.Name()} does not fit arch {config.Arch.Name()}");
        Cvae = tokenizer.ZChannels; VocabSize = tokenizer.VocabSize;
        int C = config.EmbedDim, D = config.EmbedDim;

        word_embed = nn.Linear(Cvae, C);
        class_emb = nn.Embedding(config.NumClasses + 1, C);
        pos_start = nn.Parameter(empty(1, Layout.FirstL, C));
        pos_1LC = nn.Parameter(empty(1, Layout.L, C));
        lvl_embed = nn.Embedding(Layout.Count, C);
        if (config.SharedAln) shared_ada_lin = nn.Sequential(("0", nn.SiLU()), ("1", nn.Linear(D, 6 * C)));
        blocks = new ModuleList<AdaLNSelfAttn>(Enumerable.Range(0, config.Depth).Select(i =>
            new AdaLNSelfAttn(i, C, D, config.NumHeads, config.MlpRatio, config.NormEps, config.AttnL2Norm, config.SharedAln)).ToArray());
        lvl_1L = tensor(Layout.LevelOfPosition(), [1, Layout.L]);
        attn_bias_for_masking = Pattern.FullMask();
        head_nm = new AdaLNBeforeHead(C, D, config.NormEps);
        head = new PackedLinear(C, VocabSize);

        register_module(nameof(word_embed), word_embed);
        register_module(nameof(class_emb), class_emb);
        register_parameter(nameof(pos_start), pos_start);
        register_parameter(nameof(pos_1LC), pos_1LC);
        register_module(nameof(lvl_embed), lvl_embed);
        if (shared_ada_lin is not null) register_module(nameof(shared_ada_lin), shared_ada_lin);
        register_module(nameof(blocks), blocks);
        register_buffer(nameof(lvl_1L), lvl_1L);
        register_buffer(nameof(attn_bias_for_masking), attn_bias_for_masking);
        register_module(nameof(head_nm), head_nm);
        register_module(nameof(head), head);
        if (initWeights) InitWeights(initGenerator);
        eval();
    }

    public static IAttentionPattern DefaultPattern(TransformerConfig config, ScaleLayout layout) => AttentionPatterns.For(config, layout);

    public static ScaleTransformer Create(ModelConfig config, IAttentionPattern? pattern = null, bool initWeights = true, Generator? initGenerator = null) =>
        new(config.Transformer ?? throw new ConfigException("the configuration has no transformer section"), config.Tokenizer, pattern, initWeights,
            initGenerator);

    // ---------------------------------------------------------------- weights

    /// <summary>The official random initialisation (<c>init_weights</c> with init_std = sqrt(1/(3C))), drawn from <paramref name="generator"/>.</summary>
    public void InitWeights(Generator? generator = null, double initAdaln = 0.5, double initAdalnGamma = 1e-5, double initHead = 0.02)
    {
        using var _ = no_grad();
        double std = Math.Sqrt(1.0 / Config.EmbedDim / 3);
        foreach (var (_, m) in named_modules())
        {
            if (m is Linear lin) { TruncNormal_(lin.weight!, std, generator); lin.bias?.zero_(); }
            else if (m is PackedLinear packed) { TruncNormal_(packed.Weight, std, generator); packed.Bias?.zero_(); }
            else if (m is Embedding emb) TruncNormal_(emb.weight!, std, generator);
        }
        TruncNormal_(pos_start, std, generator);
        TruncNormal_(pos_1LC, std, generator);
        head.Weight.mul_(initHead);
        head_nm.AdaLinLinear.weight!.mul_(initAdaln);
        foreach (var b in blocks) b.InitWeights(Config.Depth, initAdaln, initAdalnGamma, generator);
    }

    /// <summary>
    /// torch.nn.init.trunc_normal_(t, 0, std, a = -2, b = 2) as PyTorch computes it (uniform in [2l-1, 2u-1), erfinv,
    /// scale, clamp). TorchSharp 0.107's own trunc_normal_ is unusable: it fills the whole tensor with one value (so a
    /// model initialised with it cannot tell positions apart and never trains), and leaves NaN where the uniform draw is
    /// exactly -1; here erfinv(-1) = -inf is clamped to a, as in PyTorch.
    /// </summary>
    internal static void TruncNormal_(Tensor t, double std, Generator? generator = null, double a = -2, double b = 2)
    {
        using var _ = no_grad();
        static double NormCdf(double x) { using var e = tensor(x / Math.Sqrt(2), ScalarType.Float64).erf(); return (1 + e.item<double>()) / 2; }
        double l = NormCdf(a / std), u = NormCdf(b / std);
        t.uniform_(2 * l - 1, 2 * u - 1, generator).erfinv_().mul_(std * Math.Sqrt(2)).clamp_(a, b);
    }

    /// <summary>
    /// Loads an official VAR or MVAR state dict (the two have the same keys, so either loads into either arch).
    /// The checkpoint's <c>attn_bias_for_masking</c> is ignored: masks come from the architecture.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string source)
    {
        using var _ = no_grad();
        StateDictLoader.LoadInto(this, stateDict, source, key => key == MaskBufferKey);
    }

    /// <summary>Builds the model of <paramref name="config"/> and loads the checkpoint at <paramref name="path"/>.</summary>
    public static ScaleTransformer Load(ModelConfig config, string path, string? keyPath = null, IAttentionPattern? pattern = null)
    {
        var sd = Checkpoint.LoadStateDict(path, keyPath);   // .pth or .safetensors
        try
        {
            var model = Create(config, pattern, initWeights: false);
            try { model.LoadStateDict(sd, path); }
            catch { model.Dispose(); throw; }
            return model;
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    /// <summary>Number of parameters (buffers excluded) of the model <paramref name="config"/> would build, without building it.</summary>
    public static long CountParameters(TransformerConfig config, TokenizerConfig tokenizer)
    {
        long C = config.EmbedDim, D = config.EmbedDim, V = tokenizer.VocabSize, Cv = tokenizer.ZChannels;
        var layout = new ScaleLayout(tokenizer.PatchNums);
        long hidden = (long)Math.Round(C * config.MlpRatio, MidpointRounding.ToEven);
        long n = (config.NumClasses + 1) * C + layout.FirstL * C + layout.L * C + layout.Count * C + (Cv * C + C);
        if (config.SharedAln) n += D * 6 * C + 6 * C;
        long block = 3 * C * C + 2 * C + (config.AttnL2Norm ? config.NumHeads : 0) + (C * C + C)
                     + (C * hidden + hidden) + (hidden * C + C)
                     + (config.SharedAln ? 6 * C : D * 6 * C + 6 * C);
        n += config.Depth * block;
        n += (D * 2 * C + 2 * C) + (C * V + V);
        return n;
    }

    public long ParameterCount() =>
        parameters().Sum(p => p.numel()) + modules().OfType<PackedLinear>().Sum(m => m.ReleasedElements);

    /// <summary>
    /// Stochastic depth for training: block i drops its residual branches with probability
    /// linspace(0, <paramref name="rate"/>, depth)[i] (official drop_path_rate), masks drawn from <paramref name="generator"/>.
    /// Only active in training mode (<c>train()</c>); the constructor leaves the model in eval mode.
    /// With <paramref name="globalRows"/> &gt; 0 (data-parallel training) the masks are drawn for that many rows and this
    /// process's batch is rows [<paramref name="rowOffset"/>, + B) of them.
    /// </summary>
    public void SetDropPath(double rate, Generator? generator, int globalRows = 0, int rowOffset = 0)
    {
        for (int i = 0; i < blocks.Count; i++)
        {
            blocks[i].DropPath = Depth > 1 ? rate * i / (Depth - 1) : 0.0;
            blocks[i].DropPathGenerator = generator;
            blocks[i].DropPathGlobalRows = globalRows;
            blocks[i].DropPathRowOffset = rowOffset;
        }
    }

    /// <summary>The official default stochastic-depth rate of a model of this depth: 0.1 * depth / 24.</summary>
    public static double DefaultDropPathRate(int depth) => 0.1 * depth / 24;

    // ---------------------------------------------------------------- teacher-forced forward

    /// <summary>
    /// Teacher-forced logits (B, l, V) of the consecutive scales [firstScale, endScale) (default: all).
    /// VAR: firstScale 0. MVAR (official trainer): [0, refine_step), then each larger scale alone.
    /// <paramref name="x_BlCv"/> is the tokenizer's teacher-forcing input of those scales, without the first scale
    /// when firstScale is 0 (then it may be null if endScale is 1). <paramref name="trace"/> receives the input of the
    /// first block and the output of every block; <paramref name="probe"/> every block's attention probabilities.
    /// </summary>
    public Tensor Forward(Tensor label_B, Tensor? x_BlCv, int firstScale = 0, int endScale = -1, List<Tensor>? trace = null,
        AttentionProbe? probe = null)
    {
        if (endScale < 0) endScale = Layout.Count;
        if (firstScale < 0 || endScale > Layout.Count || firstScale >= endScale)
            throw new ArgumentException($"scale range [{firstScale}, {endScale}) is not within [0, {Layout.Count})");
        using var scope = NewDisposeScope();
        long B = label_B.shape[0];
        int bg = Layout.Begin(firstScale), ed = Layout.End(endScale - 1);
        var cond_BD = class_emb.forward(label_B);

        Tensor x_BlC;
        if (firstScale == 0)
        {
            var sos = cond_BD.unsqueeze(1).expand(B, Layout.FirstL, -1).add(pos_start.expand(B, Layout.FirstL, -1));
            x_BlC = x_BlCv is null ? sos : cat([sos, word_embed.forward(x_BlCv)], dim: 1);
        }
        else x_BlC = word_embed.forward(x_BlCv ?? throw new ArgumentException("the teacher-forcing input is missing"));
        if (x_BlC.shape[1] != ed - bg) throw new
            ArgumentException($"teacher-forcing input has {x_BlC.shape[1]} tokens, scales [{firstScale}, {endScale}) need {ed - bg}");
        var lvl = lvl_1L.slice(1, bg, ed, 1).expand(B, -1);
        x_BlC = x_BlC.add(lvl_embed.forward(lvl).add(pos_1LC.slice(1, bg, ed, 1)));
        trace?.Add(x_BlC.clone().MoveToOuterDisposeScope());

        var spec = Pattern.ForTeacherForcing(firstScale, endScale);
        var condOrGss = SharedCondition(cond_BD);
        foreach (var b in blocks)
        {
            x_BlC = b.forward(x_BlC, condOrGss, spec, probe);
            trace?.Add(x_BlC.clone().MoveToOuterDisposeScope());
        }
        return Logits(x_BlC, cond_BD).MoveToOuterDisposeScope();
    }

    // ---------------------------------------------------------------- inference steps (used by the sampler)

    public Tensor ClassEmbedding(Tensor label_B) => class_emb.forward(label_B);

    /// <summary>lvl_embed(lvl_1L) + pos_1LC: (1, L, C).</summary>
    public Tensor LevelPositions() => lvl_embed.forward(lvl_1L).add(pos_1LC);

    /// <summary>The first scale's input: class embedding + pos_start + level/position of the first scale, (B, first_l, C).</summary>
    public Tensor FirstTokenMap(Tensor sos_BD, Tensor lvlPos_1LC)
    {
        long B = sos_BD.shape[0]; int l = Layout.FirstL;
        return sos_BD.unsqueeze(1).expand(B, l, -1).add(pos_start.expand(B, l, -1)).add(lvlPos_1LC.slice(1, 0, l, 1));
    }

    /// <summary>The input of scale <paramref name="si"/> from the tokenizer's next-scale map (B, Cvae, pn, pn): (B, pn*pn, C).</summary>
    public Tensor NextTokenMap(Tensor next_BCvhw, int si, Tensor lvlPos_1LC)
    {
        long B = next_BCvhw.shape[0];
        var x_BlCv = next_BCvhw.reshape(B, Cvae, -1).transpose(1, 2);
        if (x_BlCv.dtype != ComputeType) x_BlCv = x_BlCv.to_type(ComputeType);
        return word_embed.forward(x_BlCv).add(lvlPos_1LC.slice(1, Layout.Begin(si), Layout.End(si), 1));
    }

    /// <summary>The floating-point type of the weights (float32; bfloat16 after <see cref="ToComputeType"/>).</summary>
    public ScalarType ComputeType => head.Weight.dtype;

    /// <summary>
    /// Converts the floating-point weights and buffers to <paramref name="dtype"/> (e.g. bfloat16: a faster, less exact
    /// inference path; float32 is the parity path). Inference steps take and return float32 tensors either way.
    /// </summary>
    public void ToComputeType(ScalarType dtype)
    {
        using var _ = no_grad();
        this.to(dtype);   // floating-point parameters and buffers only (lvl_1L stays int64)
        if (lvl_1L.dtype != ScalarType.Int64) throw new InvalidOperationException("lvl_1L must stay int64");
    }

    /// <summary>The GEMM kernel of the per-scale linear layers at inference (<see cref="UseGemm"/>).</summary>
    public GemmKernel Gemm => head.Kernel;

    /// <summary>
    /// Runs the per-scale linear layers (q/k/v, proj, the MLP and the head) on <paramref name="kernel"/> at inference
    /// (no gradients, eval mode); their weights are packed once, here, with <paramref name="rows"/> (default: the rows
    /// of the largest scale of one guided image) as oneDNN's layout hint. word_embed and the class-only ada_lin stay on
    /// libtorch's sgemm. Training is unaffected, unless <paramref name="inferenceOnly"/>: then the float weights of the
    /// packed layers are released (the packed copies replace them instead of adding to the memory) and the model can
    /// only sample from then on (no training, no saving).
    /// </summary>
    public void UseGemm(GemmKernel kernel, long? rows = null, bool inferenceOnly = false)
    {
        long r = rows ?? 2L * Layout.PatchNums[^1] * Layout.PatchNums[^1];
        foreach (var m in modules().OfType<PackedLinear>()) m.Pack(kernel, r, inferenceOnly);
    }

    /// <summary>A fresh KV cache when the architecture uses one (VAR), else null.</summary>
    public KvCache? NewKvCache() => Pattern.UsesKvCache ? new KvCache(Config.Depth) : null;

    /// <summary>
    /// The adaptive-LayerNorm modulation vectors of every block and of the head for a batch of class embeddings. They
    /// depend on the class only, so a sampler computes them once instead of at every scale (the official code repeats
    /// these ada_lin matmuls, which read 25 MB of weights per block, at each of the 10 scales). Dispose when done.
    /// </summary>
    public sealed class Conditioning : IDisposable
    {
        internal Conditioning(Tensor[] blocks, Tensor head) { Blocks = blocks; Head = head; }
        internal Tensor[] Blocks { get; }
        internal Tensor Head { get; }
        public void Dispose() { foreach (var t in Blocks) t.Dispose(); Head.Dispose(); }
    }

    public Conditioning PrepareConditioning(Tensor cond_BD)
    {
        using var scope = NewDisposeScope();
        var condOrGss = SharedCondition(cond_BD);
        var perBlock = blocks.Select(b => b.Modulation(condOrGss).DetachFromDisposeScope()).ToArray();
        return new Conditioning(perBlock, head_nm.Modulation(cond_BD).DetachFromDisposeScope());
    }

    /// <summary>Logits (B, pn*pn, V) of inference step <paramref name="si"/>, with the modulation vectors of <see cref="PrepareConditioning"/>.</summary>
    public Tensor StepLogits(Tensor x_BlC, Conditioning conditioning, int si, KvCache? cache, AttentionProbe? probe = null)
    {
        var spec = Pattern.ForInference(si, cache);
        using var scope = NewDisposeScope();
        var x = x_BlC;
        for (int i = 0; i < blocks.Count; i++)
        {
            // each block's intermediates are freed as soon as the block is done (inference: nothing keeps them)
            using var blockScope = NewDisposeScope();
            var y = blocks[i].ForwardModulated(x, conditioning.Blocks[i], spec, probe).MoveToOuterDisposeScope();
            if (!ReferenceEquals(x, x_BlC)) x.Dispose();
            x = y;
        }
        var logits = head.forward(head_nm.ForwardModulated(x, conditioning.Head));
        return (logits.dtype == ScalarType.Float32 ? logits : logits.to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    Tensor SharedCondition(Tensor cond_BD) =>
        shared_ada_lin is null ? cond_BD : shared_ada_lin.forward(cond_BD).view(-1, 1, 6, Config.EmbedDim);

    Tensor Logits(Tensor x_BlC, Tensor cond_BD) => head.forward(head_nm.forward(x_BlC, cond_BD));
}
