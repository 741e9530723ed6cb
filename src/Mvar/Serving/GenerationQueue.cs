using System.Diagnostics;

namespace Mvar.Serving;

/// <summary>
/// A bounded queue of generation jobs served by one worker thread, so the server never runs more than one batch
/// (and the thread budget libtorch was given) at a time. The worker takes the oldest live job and adds every queued job
/// with the same batch key (architecture, cfg, top-k, top-p), oldest first, while the batch holds at most
/// <c>maxBatch</c> samples; a job is never split, so one larger than <c>maxBatch</c> runs alone. A full queue rejects
/// with 429; jobs whose deadline passes or whose client leaves are dropped wherever they are.
/// </summary>
public sealed class GenerationQueue : IDisposable
{
    readonly IBatchRunner runner;
    readonly LinkedList<GenerationJob> pending = new();
    readonly SemaphoreSlim signal = new(0);
    readonly CancellationTokenSource stopping = new();
    readonly Thread worker;
    double batchSecondsAverage = 1;
    bool accepting = true;

    public GenerationQueue(IBatchRunner runner, int capacity, int maxBatch)
    {
        if (capacity < 1) throw new MvarException($"the queue capacity must be at least 1, got {capacity}");
        if (maxBatch < 1) throw new MvarException($"the largest batch must be at least 1 sample, got {maxBatch}");
        this.runner = runner;
        Capacity = capacity;
        MaxBatch = maxBatch;
        worker = new Thread(Work) { IsBackground = true, Name = "mvar-generation-worker" };
        worker.Start();
    }

    public int Capacity { get; }
    public int MaxBatch { get; }
    /// <summary>Live jobs waiting for the worker.</summary>
    public int Pending { get { lock (pending) { Purge(); return pending.Count; } } }
    public long BatchesRun { get; private set; }
    public long JobsCompleted { get; private set; }

    /// <summary>Seconds a client turned away should wait: about the time to work through the current queue.</summary>
    public int RetryAfterSeconds
    {
        get { lock (pending) return Math.Max(1, (int)Math.Ceiling(batchSecondsAverage * (1 + pending.Count / (double)MaxBatch))); }
    }

    /// <summary>Queues <paramref name="job"/>, or throws a <see cref="ServingException"/> (429 full, 503 stopping).</summary>
    public void Enqueue(GenerationJob job)
    {
        lock (pending)
        {
            if (!accepting) throw new ServingException(ServingException.Unavailable, "the server is shutting down");
            Purge();
            if (pending.Count >= Capacity)
                throw new ServingException(ServingException.QueueFull, $"the queue is full ({Capacity} requests waiting); retry later");
            pending.AddLast(job);
        }
        signal.Release();
    }

    /// <summary>
    /// Stops taking jobs, fails the queued ones (503), lets the running batch finish for up to <paramref name="grace"/>
    /// and then cancels it at its next scale; returns when the worker has ended.
    /// </summary>
    public void Stop(TimeSpan grace)
    {
        lock (pending)
        {
            accepting = false;
            foreach (var job in pending) job.Fail(new ServingException(ServingException.Unavailable, "the server is shutting down"));
            pending.Clear();
        }
        signal.Release();
        if (!worker.Join(grace))
        {
            stopping.Cancel();
            worker.Join();
        }
    }

    void Work()
    {
        while (true)
        {
            signal.Wait();
            List<GenerationJob> batch;
            lock (pending)
            {
                if (!accepting) return;
                batch = TakeBatch();
            }
            if (batch.Count == 0) continue;
            var sw = Stopwatch.StartNew();
            try
            {
                foreach (var job in batch) job.MarkStarted();
                runner.Run(batch, stopping.Token);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                foreach (var job in batch) job.Fail(new ServingException(ServingException.Unavailable, "the server shut down before the request finished"));
            }
            catch (OperationCanceledException) { }   // every job of the batch was already gone
            catch (MvarException e)
            {
                foreach (var job in batch) job.Fail(e);
            }
            catch (Exception e)
            {
                foreach (var job in batch) job.Fail(new InvalidOperationException($"internal error: {e.GetType().Name}: {e.Message}", e));
            }
            foreach (var job in batch)
                if (job.IsLive) job.Fail(new InvalidOperationException("internal error: the batch ended without a result for this request"));
            lock (pending)
            {
                batchSecondsAverage = 0.7 * batchSecondsAverage + 0.3 * sw.Elapsed.TotalSeconds;
                BatchesRun++;
                JobsCompleted += batch.Count(j => j.Result.IsCompletedSuccessfully);
            }
        }
    }

    /// <summary>The oldest live job and the compatible ones after it (caller holds the lock).</summary>
    List<GenerationJob> TakeBatch()
    {
        Purge();
        var batch = new List<GenerationJob>();
        if (pending.First == null) return batch;
        var key = pending.First.Value.Request.BatchKey;
        int samples = 0;
        for (var node = pending.First; node != null;)
        {
            var next = node.Next;
            var request = node.Value.Request;
            if (request.BatchKey == key && (batch.Count == 0 || samples + request.Size <= MaxBatch))
            {
                batch.Add(node.Value);
                samples += request.Size;
                pending.Remove(node);
            }
            if (samples >= MaxBatch) break;
            node = next;
        }
        return batch;
    }

    /// <summary>Drops jobs that completed while queued (deadline, client gone).</summary>
    void Purge()
    {
        for (var node = pending.First; node != null;)
        {
            var next = node.Next;
            if (!node.Value.IsLive) pending.Remove(node);
            node = next;
        }
    }

    public void Dispose()
    {
        if (worker.IsAlive) Stop(TimeSpan.Zero);
        signal.Dispose();
        stopping.Dispose();
    }
}
