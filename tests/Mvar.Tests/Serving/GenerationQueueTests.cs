using Mvar.Serving;

namespace Mvar.Tests.Serving;

/// <summary>The queue and batcher without HTTP or models: a runner that records batches and can be held at a gate.</summary>
public class GenerationQueueTests
{
    sealed class RecordingRunner : IBatchRunner
    {
        public readonly List<string[]> Batches = [];
        public readonly ManualResetEventSlim Gate = new(true);
        public readonly SemaphoreSlim Entered = new(0);

        public void Run(IReadOnlyList<GenerationJob> batch, CancellationToken stop)
        {
            Entered.Release();
            while (!Gate.Wait(10, stop)) stop.ThrowIfCancellationRequested();
            lock (Batches) Batches.Add(batch.Select(j => j.Request.Arch + j.Request.Seed).ToArray());
            foreach (var j in batch)
                j.Complete(new GenerationResult([], j.Request.Seed, [], [], [], 0, [], 0, 0, 0, batch.Count, batch.Sum(x => x.Request.Size), 0, 0));
        }
    }

    static GenerationRequest Request(ulong seed, string arch = "mvar", int count = 1, double cfg = 1.5) =>
        new(arch, null, count, cfg, 10, 0.9, seed);

    static GenerationJob Job(GenerationRequest r, double timeoutSeconds = 30) => new(r, TimeSpan.FromSeconds(timeoutSeconds), CancellationToken.None);

    [Fact]
    public async Task BatchesCompatibleWaitingRequestsUpToMaxBatchSamples()
    {
        var runner = new RecordingRunner();
        runner.Gate.Reset();
        using var queue = new GenerationQueue(runner, capacity: 10, maxBatch: 4);
        var first = Job(Request(0));
        queue.Enqueue(first);
        runner.Entered.Enter("the worker to start job 0");   // the worker holds job 0; the rest wait together
        var jobs = new[]
        {
            Job(Request(1)), Job(Request(2, arch: "var")), Job(Request(3, count: 2)), Job(Request(4, cfg: 3)),
            Job(Request(5)), Job(Request(6)), Job(Request(7, count: 8)),
        };
        foreach (var j in jobs) queue.Enqueue(j);
        runner.Gate.Set();
        await Task.WhenAll(jobs.Append(first).Select(j => j.Result)).Within("every job");
        Assert.Equal(
            new[] { "mvar0", "mvar1|mvar3|mvar5", "var2", "mvar4", "mvar6", "mvar7" },   // 1+2+1 = 4 samples; 7 is larger than 4: alone
            runner.Batches.Select(b => string.Join("|", b)).ToArray());
    }

    [Fact]
    public void FullQueueRefusesWith429()
    {
        var runner = new RecordingRunner();
        runner.Gate.Reset();
        using var queue = new GenerationQueue(runner, capacity: 2, maxBatch: 1);
        queue.Enqueue(Job(Request(0)));
        runner.Entered.Enter("the worker to start job 0");
        queue.Enqueue(Job(Request(1)));
        queue.Enqueue(Job(Request(2)));
        var e = Assert.Throws<ServingException>(() => queue.Enqueue(Job(Request(3))));
        Assert.Equal(429, e.Status);
        Assert.True(queue.RetryAfterSeconds >= 1);
        runner.Gate.Set();
    }

    [Fact]
    public async Task DeadlineWhileQueuedIs504AndTheJobIsDropped()
    {
        var runner = new RecordingRunner();
        runner.Gate.Reset();
        using var queue = new GenerationQueue(runner, capacity: 4, maxBatch: 1);
        queue.Enqueue(Job(Request(0)));
        runner.Entered.Enter("the worker to start job 0");
        var late = Job(Request(1), timeoutSeconds: 0.05);
        queue.Enqueue(late);
        var e = await Assert.ThrowsAsync<ServingException>(() => late.Result.Within("the late job"));
        Assert.Equal(504, e.Status);
        Assert.Equal(0, queue.Pending);
        runner.Gate.Set();
    }

    [Fact]
    public async Task StopFailsQueuedJobsAndFinishesTheRunningBatch()
    {
        var runner = new RecordingRunner();
        runner.Gate.Reset();
        using var queue = new GenerationQueue(runner, capacity: 4, maxBatch: 1);
        var running = Job(Request(0));
        var waiting = Job(Request(1));
        queue.Enqueue(running);
        runner.Entered.Enter("the worker to start job 0");
        queue.Enqueue(waiting);
        var stop = Task.Run(() => queue.Stop(TimeSpan.FromSeconds(10)));
        Assert.Equal(503, (await Assert.ThrowsAsync<ServingException>(() => waiting.Result.Within("the waiting job"))).Status);
        runner.Gate.Set();
        await stop.Within("the queue to stop");
        Assert.Equal(0UL, (await running.Result.Within("the running job")).Seed);
        Assert.Equal(503, Assert.Throws<ServingException>(() => queue.Enqueue(Job(Request(2)))).Status);
    }

    [Fact]
    public async Task StopCancelsARunningBatchAfterTheGracePeriod()
    {
        var runner = new RecordingRunner();
        runner.Gate.Reset();
        using var queue = new GenerationQueue(runner, capacity: 4, maxBatch: 1);
        var running = Job(Request(0));
        queue.Enqueue(running);
        runner.Entered.Enter("the worker to start job 0");
        queue.Stop(TimeSpan.FromMilliseconds(50));
        Assert.Equal(503, (await Assert.ThrowsAsync<ServingException>(() => running.Result.Within("the running job"))).Status);
    }
}
