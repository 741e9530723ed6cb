using Mvar.Config;
using Mvar.Data;
using Mvar.Tokenizer;
using Mvar.Training.Distributed;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// The token-map cache of a transformer run, shared by the ranks of a data-parallel run. Rank 0 opens or builds it;
/// then the first rank of every other host builds its own copy when that host does not see rank 0's file (the ranks
/// need not share a folder); then every rank opens it. On one process this is simply open-or-build. Tokenizing is the
/// long part, so it happens at most once per host, and a cache made with another tokenizer or data set (another
/// fingerprint) is rebuilt rather than used.
/// </summary>
public sealed class SharedTokenCache(string path, string vaePath, VqVae tokenizer, ImageBatches batches, Preprocess pre, TokenizerConfig config)
{
    readonly long fingerprint = TokenCache.Fingerprint(vaePath, config, batches.Data, pre);
    readonly long legacyFingerprint = TokenCache.LegacyFingerprint(vaePath, config, batches.Data, pre);

    public string Path => path;
    /// <summary>Images to tokenize when the cache must be built.</summary>
    public int Count => batches.Data.Count;

    /// <summary>The cache on disk when it matches this tokenizer and data set, else null.</summary>
    public TokenCache? TryOpen() => TokenCache.TryOpen(path, fingerprint, config.PatchNums, legacyFingerprint);

    /// <summary>Tokenizes every image into the cache file (replacing what is there).</summary>
    public TokenCache Build(IProgress<WorkProgress>? progress = null)
    {
        using (no_grad()) return TokenCache.Build(path, fingerprint, tokenizer, batches, progress);
    }

    /// <summary>The cache of every rank, built where needed (see the class summary).</summary>
    /// <param name="build">
    /// builds the cache on a rank that finds none, normally with <see cref="Build"/>; its argument is true on rank 0,
    /// the rank that reports (a progress display, say)
    /// </param>
    /// <param name="found">told, on rank 0, of a matching cache found on disk</param>
    public TokenCache Open(ICommunicator comm, Func<bool, TokenCache> build, Action<TokenCache>? found = null)
    {
        TokenCache OpenOrBuild(bool root)
        {
            if (TryOpen() is not { } cached) return build(root);
            if (root) found?.Invoke(cached);
            return cached;
        }
        TokenCache? tokens = comm.Rank == 0 ? OpenOrBuild(root: true) : null;
        comm.Barrier();
        if (comm.Rank != 0 && comm.LocalRank == 0) tokens = OpenOrBuild(root: false);
        comm.Barrier();
        return tokens ?? TryOpen() ?? throw new MvarException($"{path}: the token cache built by this host's first rank cannot be read");
    }
}
