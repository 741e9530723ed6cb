using Mvar.Data;
using Mvar.IO;
using Mvar.Tokenizer;
using Mvar.Tokens;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>Token maps of a data set: per sample the concatenated multi-scale codes (L, as <see cref="TokenMaps.Concat"/>) and the class.</summary>
public interface ITokenData
{
    int Count { get; }
    int L { get; }
    /// <summary>(gt_BL int64 (B, L), label_B int64 (B)).</summary>
    (Tensor gt_BL, Tensor label_B) Load(IReadOnlyList<int> indices);
}

/// <summary>Token maps held in memory (tests, small sets).</summary>
public sealed class InMemoryTokens(long[][] tokens, int[] labels) : ITokenData
{
    public int Count => tokens.Length;
    public int L => tokens[0].Length;
    public (Tensor gt_BL, Tensor label_B) Load(IReadOnlyList<int> indices)
    {
        var flat = indices.SelectMany(i => tokens[i]).ToArray();
        return (tensor(flat, [indices.Count, L]), tensor(indices.Select(i => (long)labels[i]).ToArray()));
    }
}

/// <summary>
/// Token maps computed once by the tokenizer and cached in a file (read one batch at a time by seeking):
/// header "MVARTOK1", int32 N, L, K, patch_nums[K], int64 fingerprint; int32 labels[N]; int32 tokens[N * L].
/// The fingerprint ties the cache to the tokenizer checkpoint, its config, the data set and the image size;
/// a cache that does not match is rebuilt.
/// </summary>
public sealed class TokenCache : ITokenData
{
    static readonly byte[] Magic = "MVARTOK1"u8.ToArray();
    readonly string path;
    readonly int[] labels;
    readonly long tokensOffset;
    public int Count { get; }
    public int L { get; }

    TokenCache(string path, int count, int L, int[] labels, long tokensOffset)
    {
        this.path = path; Count = count; this.L = L; this.labels = labels; this.tokensOffset = tokensOffset;
    }

    public (Tensor gt_BL, Tensor label_B) Load(IReadOnlyList<int> indices)
    {
        var flat = new long[indices.Count * L];
        var buf = new byte[L * 4];
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess);
        for (int b = 0; b < indices.Count; b++)
        {
            f.Position = tokensOffset + (long)indices[b] * L * 4;
            f.ReadExactly(buf);
            for (int j = 0; j < L; j++) flat[b * L + j] = BitConverter.ToInt32(buf, j * 4);
        }
        return (tensor(flat, [indices.Count, L]), tensor(indices.Select(i => (long)labels[i]).ToArray()));
    }

    /// <summary>
    /// A fingerprint of what the tokens depend on: the tokenizer checkpoint's content (not its path, so a moved or
    /// copied run folder keeps its cache), its config, the data set and the pre-processing.
    /// </summary>
    public static long Fingerprint(string vaePath, Config.TokenizerConfig config, IImageDataset data, Preprocess pre)
    {
        string content;
        using (var f = File.OpenRead(vaePath)) content = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(f));
        return Hash($"{content}|{new FileInfo(vaePath).Length}|{Describe(config, data, pre)}");
    }

    /// <summary>The fingerprint of caches written before <see cref="Fingerprint"/> hashed content (it held the absolute path).</summary>
    public static long LegacyFingerprint(string vaePath, Config.TokenizerConfig config, IImageDataset data, Preprocess pre)
    {
        var fi = new FileInfo(vaePath);
        return Hash($"{Path.GetFullPath(vaePath)}|{fi.Length}|{fi.LastWriteTimeUtc.Ticks}|{Describe(config, data, pre)}");
    }

    static string Describe(Config.TokenizerConfig config, IImageDataset data, Preprocess pre) =>
        $"{System.Text.Json.JsonSerializer.Serialize(config)}|{data.GetType().Name}|{data.Count}|{data.Describe(0)}|{data.Describe(data.Count - 1)}|{pre}";

    static long Hash(string s)
    {
        ulong h = 1469598103934665603UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return (long)(h >> 1);
    }

    /// <summary>
    /// Opens the cache at <paramref name="path"/> when it matches <paramref name="fingerprint"/> (or
    /// <paramref name="alsoAccept"/>, e.g. the <see cref="LegacyFingerprint"/>), else null.
    /// </summary>
    public static TokenCache? TryOpen(string path, long fingerprint, int[] patchNums, long? alsoAccept = null)
    {
        if (FileKinds.OfTarget(path) != FileKind.Regular) return null;
        using var f = File.OpenRead(path);
        using var r = new BinaryReader(f);
        try
        {
            if (!r.ReadBytes(8).AsSpan().SequenceEqual(Magic)) return null;
            int n = r.ReadInt32(), L = r.ReadInt32(), K = r.ReadInt32();
            if (n < 0 || L < 1 || K < 1 || K > 1024) return null;     // not a cache this code wrote: rebuild it
            if (f.Length != 8 + 12 + 4L * K + 8 + 4L * n + 4L * n * L) return null;
            var pns = Enumerable.Range(0, K).Select(_ => r.ReadInt32()).ToArray();
            long fp = r.ReadInt64();
            if ((fp != fingerprint && fp != alsoAccept) || !pns.SequenceEqual(patchNums)) return null;
            var labels = Enumerable.Range(0, n).Select(_ => r.ReadInt32()).ToArray();
            long offset = f.Position;
            if (f.Length != offset + (long)n * L * 4) return null;
            return new TokenCache(path, n, L, labels, offset);
        }
        catch (EndOfStreamException) { return null; }
    }

    /// <summary>
    /// Tokenizes every sample (evaluation pre-processing: centre crop, no flip) and writes the cache atomically.
    /// Unreadable samples follow <paramref name="batches"/>' policy (skipped ones are simply not in the cache).
    /// </summary>
    public static TokenCache Build(string path, long fingerprint, VqVae vae, ImageBatches batches, IProgress<WorkProgress>? progress = null, int chunk = 32)
    {
        var data = batches.Data;
        int K = vae.PatchNums.Length, L = new ScaleLayout(vae.PatchNums).L;
        var labels = new List<int>();
        AtomicFile.CheckTarget(path);
        string tokTmp = AtomicFile.TemporaryFor(path);
        try
        {
            using (var tok = new BinaryWriter(new FileStream(tokTmp, FileMode.CreateNew, FileAccess.Write)))
            {
                for (int start = 0; start < data.Count; start += chunk)
                {
                    using var scope = NewDisposeScope();
                    var idx = Enumerable.Range(start, Math.Min(chunk, data.Count - start)).ToList();
                    var b = batches.Load(idx, train: false);
                    if (b is { } loaded)
                    {
                        var (img, lbl) = loaded;
                        var codes = vae.ImgToIdxBl(img).Concat().to_type(ScalarType.Int32).contiguous();
                        var arr = codes.data<int>().ToArray();
                        foreach (var v in arr) tok.Write(v);
                        labels.AddRange(lbl.data<long>().ToArray().Select(x => (int)x));
                    }
                    progress?.Report(new WorkProgress(start + idx.Count, data.Count));
                }
            }
            AtomicFile.Write(path, s =>
            {
                using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                w.Write(Magic); w.Write(labels.Count); w.Write(L); w.Write(K);
                foreach (var p in vae.PatchNums) w.Write(p);
                w.Write(fingerprint);
                foreach (var l in labels) w.Write(l);
                w.Flush();
                using var t = File.OpenRead(tokTmp);
                t.CopyTo(s);
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MvarException($"cannot write {path}: {AtomicFile.Reason(e)}", e);
        }
        finally { try { File.Delete(tokTmp); } catch (IOException) { } }
        return TryOpen(path, fingerprint, vae.PatchNums) ?? throw new MvarException($"{path}: the token cache just written cannot be read back");
    }
}
