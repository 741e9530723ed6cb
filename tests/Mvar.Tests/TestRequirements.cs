using Mvar.Data;
using Mvar.Tests.Serving;
using Mvar.Tests.Training;

namespace Mvar.Tests;

/// <summary>
/// What the conditional tests need beyond the .NET SDK (Fashion-MNIST, Open MPI, Chromium with playwright-core). Without
/// it those tests are skipped with the reason, unless <c>MVAR_TEST_REQUIRE_ALL=1</c> (set by <c>.ci/run</c>): then they
/// run, and fail, and <see cref="TestRequirementsTests"/> lists everything missing.
/// </summary>
public static class TestRequirements
{
    public const string Variable = "MVAR_TEST_REQUIRE_ALL";
    public static bool RequireAll => Environment.GetEnvironmentVariable(Variable) == "1";

    public static string? FashionMnistMissing =>
        File.Exists(Path.Combine(IdxDataset.DefaultDir, "train-images-idx3-ubyte.gz")) ? null
            : $"Fashion-MNIST is not installed at {IdxDataset.DefaultDir} (apt-get install -y dataset-fashion-mnist)";

    public static string? MpiMissing =>
        Mpi.Launcher is null ? "Open MPI's mpirun is not installed (apt-get install -y openmpi-bin libopenmpi3)" : null;

    public static string? BrowserMissing =>
        !File.Exists(BrowserFactAttribute.Chromium)
            ? $"Chromium is not installed at {BrowserFactAttribute.Chromium} (apt-get install -y chromium; ./test does it as root)"
        : !Directory.Exists(Path.Combine(BrowserFactAttribute.ScriptDir, "node_modules",
            "playwright-core")) ? "playwright-core is not installed in tests/browser (npm ci there; ./test does it)"
        : null;

    /// <summary>The Skip of a conditional fact: the first missing requirement, or null (run) when none is missing or when <see cref="RequireAll"/>.</summary>
    public static string? Skip(params string?[] missing) => RequireAll ? null : missing.FirstOrDefault(m => m != null);
}

public class TestRequirementsTests
{
    [Fact]
    public void UnderRequireAllNothingConditionalIsMissing()
    {
        if (!TestRequirements.RequireAll) return;
        var missing = new[] { TestRequirements.FashionMnistMissing, TestRequirements.MpiMissing,
            TestRequirements.BrowserMissing }.Where(m => m != null).ToList();
        Assert.True(missing.Count == 0, $"{TestRequirements.Variable}=1 but: {string.Join("; ", missing)}");
    }
}
