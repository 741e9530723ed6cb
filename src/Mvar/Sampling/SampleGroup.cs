namespace Mvar.Sampling;

/// <summary>
/// One request inside a batched <see cref="ScaleSampler.Sample(IReadOnlyList{SampleGroup}, SamplingOptions, Action{ScaleStep}?)"/>:
/// its classes (or null for <paramref name="Count"/> random classes) and the seed of its own generator.
/// </summary>
public sealed record SampleGroup(IReadOnlyList<long>? Classes, int Count, ulong Seed)
{
    /// <summary>How many samples the group adds to the batch.</summary>
    public int Size => Classes?.Count ?? Count;
}
