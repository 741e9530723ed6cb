using System.Diagnostics;

namespace Mvar.Serving;

/// <summary>
/// A request on its way through the <see cref="GenerationQueue"/>: its deadline and the client's cancellation (either
/// completes it with a <see cref="ServingException"/> at once, queued or running), the optional per-scale preview sink
/// of a streaming client, and the task the client awaits.
/// </summary>
public sealed class GenerationJob : IDisposable
{
    readonly TaskCompletionSource<GenerationResult> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource deadline;
    readonly CancellationTokenRegistration registration;
    readonly long enqueuedAt = Stopwatch.GetTimestamp();

    public GenerationJob(GenerationRequest request, TimeSpan timeout, CancellationToken clientAborted, Action<ScalePreview>? onPreview = null)
    {
        Request = request;
        OnPreview = onPreview;
        deadline = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        deadline.CancelAfter(timeout);
        registration = deadline.Token.Register(() => Fail(clientAborted.IsCancellationRequested
            ? new ServingException(ServingException.ClientClosed, "the client went away")
            : new ServingException(ServingException.DeadlineExceeded, $"the request did not finish within its deadline of {timeout.TotalSeconds:0.#} s")));
    }

    public GenerationRequest Request { get; }
    /// <summary>Called on the worker thread after each scale when the client streams previews; null otherwise.</summary>
    public Action<ScalePreview>? OnPreview { get; }
    public Task<GenerationResult> Result => completion.Task;
    /// <summary>Completes when a worker starts the job's batch (or faults with the job's failure).</summary>
    public Task Started => started.Task;
    /// <summary>False once the job completed, failed, passed its deadline or lost its client: the worker drops it.</summary>
    public bool IsLive => !completion.Task.IsCompleted;
    public double SecondsSinceEnqueued => Stopwatch.GetElapsedTime(enqueuedAt).TotalSeconds;

    internal void MarkStarted() => started.TrySetResult();

    public void Complete(GenerationResult result)
    {
        if (completion.TrySetResult(result)) started.TrySetResult();
    }

    public void Fail(Exception error)
    {
        if (completion.TrySetException(error)) started.TrySetException(error);
        _ = started.Task.Exception;   // observed: a client may never await Started
        _ = completion.Task.Exception;
    }

    public void Dispose()
    {
        registration.Dispose();
        deadline.Dispose();
    }
}
