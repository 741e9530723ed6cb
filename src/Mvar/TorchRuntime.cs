using System.Runtime.InteropServices;

namespace Mvar;

/// <summary>Process-wide settings of the native libtorch runtime.</summary>
public static partial class TorchRuntime
{
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);

    const int M_MMAP_THRESHOLD = -3;

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

    /// <summary>
    /// Fixes glibc's mmap threshold at its default 128 KB, so that every larger block (libtorch's tensors) is mapped
    /// on its own and returned to the system when freed. Left alone, glibc raises the threshold to the size of each
    /// freed mapping (up to 32 MB), after which a training step's activations and gradients (2-25 MB each, freed every
    /// step) come from the heap, fragment it and stay resident: with a d16 model the resident size grew by 1-2 GB over
    /// a few steps (mvar bench train: peak 5.0 GB instead of 5.8-6.3 GB). Linux/glibc only, a no-op elsewhere.
    /// </summary>
    public static void ReturnFreedTensorsToTheSystem()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = MallOpt(M_MMAP_THRESHOLD, 128 * 1024); }   // 0 only for an unknown parameter: glibc knows this one
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
