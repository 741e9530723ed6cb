namespace Mvar.Training.Distributed;

/// <summary>Chooses the communicator of a process: MPI when mpirun started it, otherwise a single process.</summary>
public static class Communicators
{
    /// <summary>Overrides the MPI library loaded (a file name or path; default <see cref="MpiCommunicator.DefaultLibrary"/>).</summary>
    public const string LibraryVariable = "MVAR_MPI_LIBRARY";
    /// <summary>Set by Open MPI's launcher (mpirun / mpiexec / orterun) in every process it starts.</summary>
    public const string LaunchVariable = "OMPI_COMM_WORLD_SIZE";

    /// <summary>The number of ranks mpirun announced, or null when this process was not started by Open MPI's mpirun.</summary>
    public static int? LaunchedSize() =>
        int.TryParse(Environment.GetEnvironmentVariable(LaunchVariable), out int n) && n > 0 ? n : null;

    /// <summary>
    /// <see cref="MpiCommunicator"/> when the process was started by mpirun (even with -np 1), else
    /// <see cref="SingleProcess"/>; with <paramref name="requireMpi"/> a missing launcher is an error.
    /// </summary>
    public static ICommunicator FromEnvironment(bool requireMpi = false)
    {
        if (LaunchedSize() is null)
        {
            if (requireMpi)
                throw new
                    MvarException($"this process was not started by Open MPI's mpirun ({LaunchVariable} is not set): start it with mpirun -np N (Debian: "
                    + $"apt-get install openmpi-bin)");
            return SingleProcess.Instance;
        }
        string lib = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } l ? l : MpiCommunicator.DefaultLibrary;
        return new MpiCommunicator(lib);
    }

    /// <summary>
    /// Torch intra-op threads for a rank: the host's cores shared among its ranks (OMP_NUM_THREADS, when set, wins),
    /// so two ranks on a 2-core host run one thread each instead of fighting over the cores.
    /// </summary>
    public static int ThreadsPerRank(ICommunicator c) =>
        int.TryParse(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"), out int t) && t > 0 ? t
        : Math.Max(1, Environment.ProcessorCount / Math.Max(1, c.LocalSize));
}
