namespace Mvar.Cli.Serving;

/// <summary>Where the server listens and the limits it enforces.</summary>
public sealed record ServeSettings
{
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0: a free port chosen by the system (the address is printed and in <see cref="ServeApp.Address"/>).</summary>
    public int Port { get; init; } = 8080;
    /// <summary>Requests that may wait for the worker; one more is answered 429.</summary>
    public int QueueCapacity { get; init; } = 32;
    /// <summary>The most samples one batch (one forward pass per scale) holds; 1 turns batching off.</summary>
    public int MaxBatch { get; init; } = 16;
    /// <summary>The most samples one request may ask for.</summary>
    public int MaxSamples { get; init; } = 16;
    /// <summary>Deadline of a request from its arrival (queue wait + generation): 504 when passed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>On shutdown, how long the running batch may take before it is cancelled.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);
    public int MaxBodyBytes { get; init; } = 16 * 1024;
}
