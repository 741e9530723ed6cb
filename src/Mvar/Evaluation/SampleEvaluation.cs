using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Evaluation;

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
        string cache = Path.Combine(cacheDir ?? DefaultCacheDir(), $"ref-{Hash(net.Name + "|" + ImageSets.Identity(reference))}.safetensors");
        bool cached = File.Exists(cache);
        Tensor real;
        if (cached) real = SafeTensors.Load(cache)["features"];
        else
        {
            (real, _) = Score(net, ImageSets.Batches(reference), "reference", progress);
            Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
            SafeTensors.Save(cache, new Dictionary<string, Tensor> { ["features"] = real },
                new Dictionary<string, string> { ["network"] = net.Name, ["reference"] = reference });
        }
        double fid = FrechetDistance.Compute(FeatureStatistics.Of(fake, "the sample set"), FeatureStatistics.Of(real, "the reference set"));
        var (isMean, isStd) = InceptionScore.Compute(probs);
        var (precision, recall) = PrecisionRecall.Compute(real, fake, k: 3);
        return new EvaluationReport(net.Name, fake.shape[0], real.shape[0], fid, isMean, isStd, precision, recall,
            sw.Elapsed.TotalSeconds, cached);
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
