namespace Mvar.Training.Distributed;

/// <summary>
/// The collective operations data-parallel training needs: every rank runs the same program on its own share of
/// each batch and the ranks agree through these calls. Every rank must make the same calls in the same order with
/// buffers of the same length (as in MPI). <see cref="SingleProcess"/> is the one-rank no-op; <see cref="MpiCommunicator"/>
/// runs over Open MPI.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index in [0, Size).</summary>
    int Rank { get; }
    /// <summary>Number of processes (ranks).</summary>
    int Size { get; }
    /// <summary>This process's index among the ranks on the same host (0 on a host's first rank).</summary>
    int LocalRank { get; }
    /// <summary>Number of ranks on this host.</summary>
    int LocalSize { get; }

    /// <summary>Replaces <paramref name="buffer"/> by the element-wise sum of every rank's buffer (same result on every rank).</summary>
    void AllReduceSum(Span<float> buffer);
    /// <inheritdoc cref="AllReduceSum(Span{float})"/>
    void AllReduceSum(Span<double> buffer);
    /// <summary>Overwrites <paramref name="buffer"/> on every rank with rank <paramref name="root"/>'s bytes.</summary>
    void Broadcast(Span<byte> buffer, int root = 0);
    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();
    /// <summary>Ends the whole job after an error on this rank (the other ranks may be waiting in a collective call).</summary>
    void Abort(int exitCode);
}

/// <summary>One process, no communication: every collective is the identity.</summary>
public sealed class SingleProcess : ICommunicator
{
    public static readonly SingleProcess Instance = new();
    public int Rank => 0;
    public int Size => 1;
    public int LocalRank => 0;
    public int LocalSize => 1;
    public void AllReduceSum(Span<float> buffer) { }
    public void AllReduceSum(Span<double> buffer) { }
    public void Broadcast(Span<byte> buffer, int root = 0) { }
    public void Barrier() { }
    public void Abort(int exitCode) { }
    public void Dispose() { }
}
