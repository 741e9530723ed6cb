using System.Runtime.InteropServices;

namespace Mvar;

/// <summary>Process-wide settings of the native libtorch runtime.</summary>
public static partial class TorchRuntime
{
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>
    /// Asks libtorch to back its large CPU tensors with transparent huge pages (PyTorch's THP_MEM_ALLOC_ENABLE), unless
    /// the variable is already set. The decoder and the sampler allocate and free maps of tens of MB; with 4 KB pages
    /// the kernel's page faults cost ~10% of the decode time on a 2-core machine. Must run before libtorch allocates
    /// its first tensor (c10 reads the variable once); Linux only, a no-op elsewhere. The managed
    /// Environment.SetEnvironmentVariable does not reach native getenv, hence libc's setenv.
    /// </summary>
    public static void EnableHugePageAllocations()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("THP_MEM_ALLOC_ENABLE") != null) return;
        try { SetEnv("THP_MEM_ALLOC_ENABLE", "1", 0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
