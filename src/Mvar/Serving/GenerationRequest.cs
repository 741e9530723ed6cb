namespace Mvar.Serving;

/// <summary>
/// One validated generation request: the model (<paramref name="Arch"/>), one sample per entry of
/// <paramref name="Classes"/> (or <paramref name="Count"/> random classes when null), the sampling settings and the seed
/// of the request's own generator.
/// </summary>
public sealed record GenerationRequest(string Arch, long[]? Classes, int Count, double Cfg, int TopK, double TopP, ulong Seed)
{
    /// <summary>Samples the request adds to a batch.</summary>
    public int Size => Classes?.Length ?? Count;

    /// <summary>Requests with equal keys can share one forward pass per scale.</summary>
    public (string Arch, double Cfg, int TopK, double TopP) BatchKey => (Arch, Cfg, TopK, TopP);
}
