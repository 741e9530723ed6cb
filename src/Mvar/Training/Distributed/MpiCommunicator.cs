using System.Runtime.InteropServices;
using System.Text;

namespace Mvar.Training.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> over Open MPI's C library (libmpi.so.40), called through function pointers looked up
/// at run time, so Mvar needs no MPI package to build and loads MPI only when started by <c>mpirun</c>.
/// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the addresses of its exported globals
/// (<c>ompi_mpi_comm_world</c>, ...), and MPI_IN_PLACE is <c>(void*)1</c>; this is Open MPI's ABI, not MPICH's.
/// Errors return codes (MPI_ERRORS_RETURN) that become one-line <see cref="MvarException"/>s naming the call and rank.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    public const string DefaultLibrary = "libmpi.so.40";
    const int MaxErrorString = 256;
    static readonly IntPtr InPlace = 1;

    readonly IntPtr lib, comm, mpiFloat, mpiDouble, mpiByte, opSum;
    readonly delegate* unmanaged<void*, void*, int, IntPtr, IntPtr, IntPtr, int> allreduce;
    readonly delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int> bcast;
    readonly delegate* unmanaged<IntPtr, int> barrier;
    readonly delegate* unmanaged<IntPtr, int, int> abort;
    readonly delegate* unmanaged<int> finalize;
    readonly delegate* unmanaged<int, byte*, int*, int> errorString;
    bool finalized;

    public int Rank { get; }
    public int Size { get; }
    public int LocalRank { get; }
    public int LocalSize { get; }
    public string Library { get; }

    /// <summary>Loads <paramref name="library"/> and initialises MPI (MPI_Init); the process must have been started by mpirun.</summary>
    public MpiCommunicator(string library = DefaultLibrary)
    {
        Library = library;
        if (!NativeLibrary.TryLoad(library, out lib))
            throw new
                MvarException($"started by mpirun, but the MPI library {library} cannot be loaded: install Open MPI (Debian: apt-get install openmpi-bin "
                + $"libopenmpi3) or set {Communicators.LibraryVariable} to its path");
        comm = Global("ompi_mpi_comm_world");
        mpiFloat = Global("ompi_mpi_float");
        mpiDouble = Global("ompi_mpi_double");
        mpiByte = Global("ompi_mpi_byte");
        opSum = Global("ompi_mpi_op_sum");
        var errorsReturn = Global("ompi_mpi_errors_return");
        allreduce = (delegate* unmanaged<void*, void*, int, IntPtr, IntPtr, IntPtr, int>)Function("MPI_Allreduce");
        bcast = (delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int>)Function("MPI_Bcast");
        barrier = (delegate* unmanaged<IntPtr, int>)Function("MPI_Barrier");
        abort = (delegate* unmanaged<IntPtr, int, int>)Function("MPI_Abort");
        finalize = (delegate* unmanaged<int>)Function("MPI_Finalize");
        errorString = (delegate* unmanaged<int, byte*, int*, int>)Function("MPI_Error_string");
        var init = (delegate* unmanaged<int*, byte***, int>)Function("MPI_Init");
        var initialized = (delegate* unmanaged<int*, int>)Function("MPI_Initialized");
        var commRank = (delegate* unmanaged<IntPtr, int*, int>)Function("MPI_Comm_rank");
        var commSize = (delegate* unmanaged<IntPtr, int*, int>)Function("MPI_Comm_size");
        var setErrhandler = (delegate* unmanaged<IntPtr, IntPtr, int>)Function("MPI_Comm_set_errhandler");

        int flag = 0, rank = 0, size = 0;
        Check(initialized(&flag), "MPI_Initialized");
        if (flag == 0) Check(init(null, null), "MPI_Init");
        Check(setErrhandler(comm, errorsReturn), "MPI_Comm_set_errhandler");
        Check(commRank(comm, &rank), "MPI_Comm_rank");
        Check(commSize(comm, &size), "MPI_Comm_size");
        Rank = rank; Size = size;
        LocalRank = EnvInt("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0;
        LocalSize = EnvInt("OMPI_COMM_WORLD_LOCAL_SIZE") ?? 1;
    }

    static int? EnvInt(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), out int v) ? v : null;

    IntPtr Global(string name) => NativeLibrary.TryGetExport(lib, name, out var p) ? p
        : throw new MvarException($"{Library} does not export {name}: it is not Open MPI (Mvar calls Open MPI's C ABI; MPICH and others are not supported)");

    IntPtr Function(string name) => NativeLibrary.TryGetExport(lib, name, out var p) ? p
        : throw new MvarException($"{Library} does not export {name}: not a usable MPI library");

    void Check(int code, string call)
    {
        if (code == 0) return;
        string text = $"error code {code}";
        if (errorString != null)
        {
            var buf = stackalloc byte[MaxErrorString];
            int len = 0;
            if (errorString(code, buf, &len) == 0) text = Encoding.ASCII.GetString(buf, Math.Clamp(len, 0, MaxErrorString));
        }
        throw new MvarException($"{call} failed on MPI rank {Rank} of {Size}: {text} (another rank probably stopped)");
    }

    public void AllReduceSum(Span<float> buffer)
    {
        const int chunk = int.MaxValue / 4;
        for (int start = 0; start < buffer.Length; start += chunk)
        {
            var part = buffer.Slice(start, Math.Min(chunk, buffer.Length - start));
            fixed (float* p = part) Check(allreduce((void*)InPlace, p, part.Length, mpiFloat, opSum, comm), "MPI_Allreduce");
        }
    }

    public void AllReduceSum(Span<double> buffer)
    {
        const int chunk = int.MaxValue / 8;
        for (int start = 0; start < buffer.Length; start += chunk)
        {
            var part = buffer.Slice(start, Math.Min(chunk, buffer.Length - start));
            fixed (double* p = part) Check(allreduce((void*)InPlace, p, part.Length, mpiDouble, opSum, comm), "MPI_Allreduce");
        }
    }

    public void Broadcast(Span<byte> buffer, int root = 0)
    {
        const int chunk = 1 << 30;
        for (int start = 0; start < buffer.Length; start += chunk)
        {
            var part = buffer.Slice(start, Math.Min(chunk, buffer.Length - start));
            fixed (byte* p = part) Check(bcast(p, part.Length, mpiByte, root, comm), "MPI_Bcast");
        }
    }

    public void Barrier() => Check(barrier(comm), "MPI_Barrier");

    public void Abort(int exitCode) => abort(comm, exitCode);

    /// <summary>Finalises MPI (a collective: call it only when every rank ends normally; after an error use <see cref="Abort"/>).</summary>
    public void Dispose()
    {
        if (finalized) return;
        finalized = true;
        Check(finalize(), "MPI_Finalize");
    }
}
