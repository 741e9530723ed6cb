using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Metrics;

/// <summary>The metrics of a sample set against a reference set.</summary>
public sealed record EvaluationReport(string Features, long Samples, long Reference, double Fid, double IsMean, double IsStd,
    double Precision, double Recall, double Seconds, bool ReferenceFromCache);

/// <summary>
/// FID, Inception Score (10 splits), and improved precision/recall (k = 3) of a sample set against a reference set,
/// through one <see cref="IFeatureNetwork"/>. The reference set's features are cached in a file keyed by the set's
/// identity and the network's name, so they are computed once.
/// </summary>
public static class SampleEvaluation
{
    public static EvaluationReport Run(IFeatureNetwork net, string samples, string reference, string? cacheDir = null,
        Action<string>? progress = null)
    {
        var sw = Stopwatch.StartNew();
        var (fake, probs) = Score(net, ImageSets.Batches(samples), "samples", progress);
        var (real, cached) = ReferenceFeatures(net, reference, cacheDir, progress);
        var m = Metrics(fake, probs, real);
        return new EvaluationReport(net.Name, fake.shape[0], real.shape[0], m.Fid, m.IsMean, m.IsStd, m.Precision, m.Recall,
            sw.Elapsed.TotalSeconds, cached);
    }

    /// <summary>
    /// The reference set's features (N, D), from the cache file keyed by the set's identity and the network's name when
    /// it exists, else computed and cached; <c>cached</c> tells which.
    /// </summary>
    public static (Tensor features, bool cached) ReferenceFeatures(IFeatureNetwork net, string reference, string? cacheDir = null,
        Action<string>? progress = null)
    {
        string cache = Path.Combine(cacheDir ?? DefaultCacheDir(), $"ref-{Hash(net.Name + "|" + ImageSets.Identity(reference))}.safetensors");
        if (File.Exists(cache)) return (SafeTensors.Load(cache)["features"], true);
        var (real, _) = Score(net, ImageSets.Batches(reference), "reference", progress);
        Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
        SafeTensors.Save(cache, new Dictionary<string, Tensor> { ["features"] = real },
            new Dictionary<string, string> { ["network"] = net.Name, ["reference"] = reference });
        return (real, false);
    }

    /// <summary>FID, Inception Score (10 splits) and precision/recall (k = 3) of generated features and probabilities against real features.</summary>
    public static (double Fid, double IsMean, double IsStd, double Precision, double Recall) Metrics(Tensor fake_ND, Tensor probs_NK, Tensor real_ND)
    {
        double fid = FrechetDistance.Compute(FeatureStatistics.Of(fake_ND, "the sample set"), FeatureStatistics.Of(real_ND, "the reference set"));
        var (isMean, isStd) = InceptionScore.Compute(probs_NK);
        var (precision, recall) = PrecisionRecall.Compute(real_ND, fake_ND, k: 3);
        return (fid, isMean, isStd, precision, recall);
    }

    public static (Tensor features, Tensor probs) Score(IFeatureNetwork net, IEnumerable<Tensor> batches, string what, Action<string>? progress)
    {
        var f = new List<Tensor>(); var p = new List<Tensor>();
        foreach (var batch in batches)
        {
            var (features, probs) = net.Score(batch);
            f.Add(features); p.Add(probs);
            batch.Dispose();
            progress?.Invoke($"{what}: {f.Sum(x => x.shape[0])} images scored");
        }
        if (f.Count == 0) throw new MvarException($"the {what} set is empty");
        return (cat(f), cat(p));
    }

    static string DefaultCacheDir() =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "mvar");

    static string Hash(string s) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..16].ToLowerInvariant();
}
