namespace Mvar.Serving;

/// <summary>A request the server cannot serve now, with the HTTP status that says why (429, 499, 503, 504).</summary>
public sealed class ServingException(int status, string message) : MvarException(message)
{
    public int Status { get; } = status;

    public const int QueueFull = 429, ClientClosed = 499, Unavailable = 503, DeadlineExceeded = 504;
}
