using Mvar.Benchmarks;
using Mvar.Config;
using Mvar.IO;
using Mvar.Metrics;
using Mvar.Sampling;
using Mvar.Tokenizer;
using Mvar.Transformer;
using static TorchSharp.torch;

namespace Mvar.Tests.Benchmarks;

/// <summary><see cref="ModelComparison"/> on the parity fixtures (VAR and MVAR checkpoints of one tiny model).</summary>
public class ModelComparisonTests
{
    /// <summary>
    /// A stand-in feature network with 3 features (each channel's mean and two moments), so that a dozen images are
    /// enough for FID; probabilities from a softmax of the same numbers.
    /// </summary>
    internal sealed class MomentFeatures : IFeatureNetwork
    {
        public string Name => "moments";
        public int FeatureDim => 3;
        /// <summary>The sides of the images scored.</summary>
        public readonly HashSet<long> Sides = [];

        public (Tensor Features_BD, Tensor Probs_BK) Score(Tensor images_BCHW)
        {
            Sides.Add(images_BCHW.shape[2]);
            var x = images_BCHW.flatten(1);
            var f = stack([x.mean([1]), x.std(1), x.abs().mean([1])], 1);
            return (f, (f * 5).softmax(-1));
        }
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static ModelConfig Config(string arch) =>
        ModelConfig.Load(Path.Combine(Fixtures.RepoRoot, "tests", "data", "parity-tiny-mvar.json")).WithArch(arch);

    const int Images = 10, Batch = 4;

    static List<ModelRun> Compare(VqVae vae, ScaleTransformer var, ScaleTransformer mvar, Tensor real, ulong seed) =>
        ModelComparison.Run([("VAR", var), ("MVAR", mvar)], vae, new MomentFeatures(), real, new ComparisonOptions
        {
            Classes = ModelComparison.BalancedClasses(Images, 10), Batch = Batch, GridPerClass = 1, KeepImages = true,
            Sampling = new SamplingOptions { Cfg = 1.5, TopK = 900, TopP = 0.96, Seed = seed },
        });

    [Fact]
    public void SameSeedsGiveTheSameResultsAndTheKvCacheIsVarsOnly()
    {
        using var vae = VqVaeLoader.Load(Config("var").Tokenizer, Fixtures.Parity("vae.pth"));
        using var var = ScaleTransformer.Load(Config("var"), Fixtures.Parity("var.pth"));
        using var mvar = ScaleTransformer.Load(Config("mvar"), Fixtures.Parity("mvar.pth"));
        var g = new Generator(7);
        using var real = rand(40, 3, generator: g);

        var first = Compare(vae, var, mvar, real, seed: 5);
        var second = Compare(vae, var, mvar, real, seed: 5);
        try
        {
            for (int m = 0; m < 2; m++)
            {
                var a = first[m].Figures;
                Assert.Equal(Images, a.Images);
                foreach (var x in new[] { a.Fid, a.IsMean, a.IsStd, a.Precision, a.Recall })
                    Assert.True(double.IsFinite(x), $"{a.Name}: a metric is not finite");
                Assert.True(a.SecondsPerImage > 0 && a.TransformerSecondsPerImage > 0 && a.DecodeSecondsPerImage > 0);
                Assert.True(double.IsFinite(a.PeakAboveWeightsMb));   // other tests run in this process meanwhile: no bound
                Assert.Equal(171_780, a.Parameters);
                // the same seeds: the same images and the same figures
                Assert.True(Same(first[m].Images!, second[m].Images!), $"{a.Name}: images differ between two runs with the same seed");
                var b = second[m].Figures;
                Assert.Equal((a.Fid, a.IsMean, a.Precision, a.Recall), (b.Fid, b.IsMean, b.Precision, b.Recall));
                Assert.Equal([Images, 128, 128, 3], first[m].Images!.shape);
            }

            // KV cache of VAR at batch 4, guided (8 rows): depth 2 x (k, v) x 8 rows x 130 tokens x 64 channels x 4 bytes
            Assert.Equal(2L * 2 * (2 * Batch) * 130 * 64 * 4, first[0].Figures.KvCacheBytesPerBatch);
            Assert.Equal(2.0 * 2 * 2 * 130 * 64 * 4, first[0].Figures.KvCacheBytesPerImage);
            Assert.Equal(0, first[1].Figures.KvCacheBytesPerBatch);
            Assert.True(first[0].Figures.GflopsPerImage > first[1].Figures.GflopsPerImage);

            // batch 1 (images 4..7) was drawn with seed + 1 by both models: sampling it on its own gives the same images
            var classes = ModelComparison.BalancedClasses(Images, 10).Skip(Batch).Take(Batch).ToArray();
            for (int m = 0; m < 2; m++)
            {
                using var scope = NewDisposeScope();
                using var r = new ScaleSampler(m == 0 ? var : mvar, vae).Sample(classes, Batch, new SamplingOptions { Seed = 6 });
                var alone = Npz.ToUint8NHWC(vae.FhatToImg(r.FHat));
                Assert.True(Same(alone, first[m].Images!.narrow(0, Batch, Batch)), $"model {m}: batch 1 is not the seed + 1 sample");
            }
            // one grid image per class, the first of that class
            Assert.Equal(10, first[0].GridPerClass.Length);
            Assert.True(Same(first[0].GridPerClass[0][0], first[0].Images![0]));
        }
        finally
        {
            foreach (var r in first.Concat(second)) r.Dispose();
        }
    }

    [Fact]
    public void SamplesAreCentreCroppedToTheScoreSide()
    {
        using var vae = VqVaeLoader.Load(Config("mvar").Tokenizer, Fixtures.Parity("vae.pth"));
        using var mvar = ScaleTransformer.Load(Config("mvar"), Fixtures.Parity("mvar.pth"));
        using var real = rand(40, 3, generator: new Generator(7));
        var net = new MomentFeatures();
        var runs = ModelComparison.Run([("MVAR", mvar)], vae, net, real, new ComparisonOptions
        {
            Classes = ModelComparison.BalancedClasses(10, 10), Batch = 10, ScoreSide = 120, KeepImages = true,
            Sampling = new SamplingOptions { Cfg = 1, TopK = 1, TopP = 0, Seed = 0 },
        });
        using var _ = runs[0];
        Assert.Equal([120L], net.Sides);
        Assert.Equal([10, 128, 128, 3], runs[0].Images!.shape);   // the kept samples are whole
    }

    /// <summary>Moment features, and a classifier over 10 classes that calls every image class 2.</summary>
    sealed class AlwaysClassTwo : IFeatureNetwork
    {
        readonly MomentFeatures moments = new();
        public string Name => "always-2";
        public int FeatureDim => 3;
        public (Tensor Features_BD, Tensor Probs_BK) Score(Tensor images_BCHW)
        {
            var (f, _) = moments.Score(images_BCHW);
            var p = zeros(images_BCHW.shape[0], 10);
            p[TensorIndex.Colon, 2] = 1;
            return (f, p);
        }
    }

    [Fact]
    public void ClassAccuracyIsTheShareClassifiedAsTheirClassWhenTheClassesMatch()
    {
        using var vae = VqVaeLoader.Load(Config("mvar").Tokenizer, Fixtures.Parity("vae.pth"));
        using var mvar = ScaleTransformer.Load(Config("mvar"), Fixtures.Parity("mvar.pth"));
        using var real = rand(40, 3, generator: new Generator(7));
        var o = new ComparisonOptions
        {
            Classes = ModelComparison.BalancedClasses(20, 10), Batch = 10,   // two images of each class: 2 of 20 are class 2
            Sampling = new SamplingOptions { Cfg = 1, TopK = 1, TopP = 0, Seed = 0 },
        };
        var runs = ModelComparison.Run([("MVAR", mvar)], vae, new AlwaysClassTwo(), real, o);
        using (runs[0]) Assert.Equal(0.1, runs[0].Figures.ClassAccuracy!.Value, 12);
        runs = ModelComparison.Run([("MVAR", mvar)], vae, new MomentFeatures(), real, o);   // 3 "classes" against 10: none
        using (runs[0]) Assert.Null(runs[0].Figures.ClassAccuracy);
    }

    [Fact]
    public void TooFewImagesForTheFeaturesFailBeforeSampling()
    {
        using var vae = new VqVae(Config("var").Tokenizer);
        using var var = ScaleTransformer.Create(Config("var"));
        using var real = zeros(300, 256);
        using var net = new FashionClassifier();
        var e = Assert.Throws<MvarException>(() => ModelComparison.Run([("VAR", var)], vae, net, real,
            new ComparisonOptions { Classes = ModelComparison.BalancedClasses(200, 10) }));
        Assert.Contains("at least 257", e.Message);
    }

    [Fact]
    public void BalancedClassesAreSortedAndEven()
    {
        Assert.Equal([0, 0, 1, 1, 2, 2], ModelComparison.BalancedClasses(6, 3));
        var c = ModelComparison.BalancedClasses(25, 10);
        Assert.Equal(25, c.Length);
        Assert.All(Enumerable.Range(0, 10), k => Assert.InRange(c.Count(x => x == k), 2, 3));
        Assert.Equal(c.Order(), c);
    }
}
