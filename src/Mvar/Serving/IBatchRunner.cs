namespace Mvar.Serving;

/// <summary>
/// Runs one batch of compatible jobs (equal <see cref="GenerationRequest.BatchKey"/>) on the worker thread and
/// completes each live job. It stops early (throwing <see cref="OperationCanceledException"/>) when no job of the batch
/// is live any more, or when <c>stop</c> is cancelled.
/// </summary>
public interface IBatchRunner
{
    void Run(IReadOnlyList<GenerationJob> batch, CancellationToken stop);
}
