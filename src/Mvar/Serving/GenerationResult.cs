namespace Mvar.Serving;

/// <summary>
/// What one request gets back: its classes and seed, the PNG grid and the single PNG images, the tokens of every scale
/// per sample, and timing: seconds waited in the queue, the batch's seconds per scale and in total, and the process
/// memory after the batch. The batch's total is the scales plus the previews streamed (decoded after each scale) plus
/// the final decoding and PNG encoding.
/// </summary>
public sealed record GenerationResult(
    long[] Classes, ulong Seed, byte[] GridPng, byte[][] ImagePngs, long[][][] Tokens,
    double QueueSeconds, double[] ScaleSeconds, double PreviewSeconds, double DecodeSeconds, double TotalSeconds,
    int BatchRequests, int BatchSamples, double MemoryMb, double PeakMemoryMb);

/// <summary>A scale's decoded preview of one request's samples (PNG grid), reported while the batch runs.</summary>
public sealed record ScalePreview(int Scale, int ScaleCount, int Side, double Seconds, byte[] GridPng);
