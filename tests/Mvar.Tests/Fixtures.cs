namespace Mvar.Tests;

/// <summary>Paths of the test data: the official-code parity fixtures (a copy of shared/parity) and scratch space.</summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();
    public static string ParityDir => Path.Combine(RepoRoot, "tests", "data", "parity");
    public static string Parity(string file) => Path.Combine(ParityDir, file);

    /// <summary>A fresh empty directory under the system temp folder.</summary>
    public static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "mvar-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Mvar.slnx"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (Mvar.slnx) above " + AppContext.BaseDirectory);
    }
}
