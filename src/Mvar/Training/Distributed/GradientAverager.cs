using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mvar.Training.Distributed;

/// <summary>
/// Averages the gradients of a model over the ranks after the backward pass (what PyTorch's DDP does, without the
/// overlap): the gradients are packed into a few large contiguous float32 buckets (parameter order, up to
/// <see cref="DefaultBucketElements"/> each), each bucket is all-reduced in one call, divided by the rank count and
/// copied back. Each bucket also carries one "has a gradient" flag per parameter, so a parameter no rank used this
/// step keeps no gradient (AdamW then skips it, as in one process), and one that only some ranks used gets the
/// average with zeros from the others.
/// </summary>
public sealed class GradientAverager : IDisposable
{
    /// <summary>32 MB of float32 per bucket (DDP's default bucket is 25 MB).</summary>
    public const long DefaultBucketElements = 1L << 23;

    sealed record Slot(Parameter P, long Offset, long Count);
    sealed record Bucket(Tensor Data, Slot[] Slots, long FlagOffset);

    readonly ICommunicator comm;
    readonly List<Bucket> buckets = new();

    /// <summary>Time spent in the all-reduce calls so far (the communication cost).</summary>
    public TimeSpan ReduceTime { get; private set; }
    /// <summary>All-reduce calls so far.</summary>
    public long Calls { get; private set; }

    public GradientAverager(ICommunicator comm, IEnumerable<Parameter> parameters, long bucketElements = DefaultBucketElements)
    {
        this.comm = comm;
        if (comm.Size == 1) return;
        var current = new List<Slot>();
        long used = 0;
        void Close()
        {
            if (current.Count == 0) return;
            var data = zeros(used + current.Count, dtype: ScalarType.Float32).DetachFromDisposeScope();
            buckets.Add(new Bucket(data, current.ToArray(), used));
            current = new(); used = 0;
        }
        foreach (var p in parameters)
        {
            if (p.dtype != ScalarType.Float32) throw new MvarException($"data-parallel training needs float32 parameters, got {p.dtype}");
            if (used > 0 && used + p.numel() > bucketElements) Close();
            current.Add(new Slot(p, used, p.numel()));
            used += p.numel();
        }
        Close();
    }

    /// <summary>Replaces every gradient by its mean over the ranks (a no-op in one process).</summary>
    public void Average()
    {
        if (comm.Size == 1) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var b in buckets)
        {
            var flags = MemoryMarshal.Cast<byte, float>(b.Data.bytes).Slice((int)b.FlagOffset);
            for (int i = 0; i < b.Slots.Length; i++)
            {
                var s = b.Slots[i];
                var slice = b.Data.narrow(0, s.Offset, s.Count);
                if (s.P.grad is Tensor g) { slice.copy_(g.reshape(-1)); flags[i] = 1; }
                else { slice.zero_(); flags[i] = 0; }
            }
            var sw = Stopwatch.StartNew();
            comm.AllReduceSum(MemoryMarshal.Cast<byte, float>(b.Data.bytes));
            ReduceTime += sw.Elapsed; Calls++;
            b.Data.narrow(0, 0, b.FlagOffset).div_(comm.Size);
            flags = MemoryMarshal.Cast<byte, float>(b.Data.bytes).Slice((int)b.FlagOffset);
            for (int i = 0; i < b.Slots.Length; i++)
            {
                var s = b.Slots[i];
                if (flags[i] == 0) continue;
                var mean = b.Data.narrow(0, s.Offset, s.Count).view(s.P.shape);
                if (s.P.grad is Tensor g) g.copy_(mean);
                else s.P.grad = mean.clone().DetachFromDisposeScope();
            }
        }
    }

    /// <summary>
    /// Overwrites every tensor of <paramref name="model"/>'s state (parameters and buffers) with rank
    /// <paramref name="root"/>'s, so all ranks start from the same weights whatever each one initialised or loaded.
    /// </summary>
    public static void BroadcastState(ICommunicator comm, TorchSharp.torch.nn.Module model, int root = 0)
    {
        if (comm.Size == 1) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, t) in model.state_dict())
        {
            if (t.is_contiguous()) { comm.Broadcast(t.bytes, root); continue; }
            var c = t.contiguous();
            comm.Broadcast(c.bytes, root);
            t.copy_(c);
        }
    }

    public void Dispose()
    {
        foreach (var b in buckets) b.Data.Dispose();
        buckets.Clear();
    }
}
