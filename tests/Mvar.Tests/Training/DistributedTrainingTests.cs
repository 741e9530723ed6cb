using System.Globalization;
using Mvar.Config;
using Mvar.IO;
using Mvar.Tests.Cli;
using Mvar.Tokenizer;
using Mvar.Training.Distributed;
using static TorchSharp.torch;

namespace Mvar.Tests.Training;

/// <summary>Skips a test when Open MPI's mpirun or Fashion-MNIST is not installed (./test installs both when run as root), unless
/// MVAR_TEST_REQUIRE_ALL=1.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        Skip ??= TestRequirements.Skip(TestRequirements.MpiMissing, TestRequirements.FashionMnistMissing);
    }
}

/// <summary>Runs the mvar CLI under mpirun on this host.</summary>
public static class Mpi
{
    public static string? Launcher { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    /// <summary>mpirun -np <paramref name="ranks"/> (as root if need be, oversubscribing the 2-core CI machine) mvar args.</summary>
    public static CliRunner.Result Run(int ranks, IEnumerable<string> mpiOptions, params string[] args)
    {
        var prefix = new List<string> { Launcher!, "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(CultureInfo.InvariantCulture) };
        prefix.AddRange(mpiOptions);
        return CliRunner.RunWith(new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" }, prefix, args);
    }

    public static CliRunner.Result Run(int ranks, params string[] args) => Run(ranks, [], args);

    /// <summary>One process, one torch thread: the reference the ranks are compared with.</summary>
    public static CliRunner.Result Single(params string[] args) =>
        CliRunner.RunWith(new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" }, [], args);
}

/// <summary>A random tokenizer saved once (training runs start from it so that they can be compared).</summary>
public sealed class DistributedFixture : IDisposable
{
    public string Dir { get; } = Fixtures.TempDir();
    public string Config { get; } = Path.Combine(Fixtures.RepoRoot, "tests", "data", "train-tiny-fmnist.json");
    public string Vae => Path.Combine(Dir, "vae.pth");

    public DistributedFixture()
    {
        using var vae = new VqVae(ModelConfig.Load(Config).Tokenizer);
        Checkpoint.SaveStateDict(Vae, vae.state_dict());
    }

    public void Dispose() { try { Directory.Delete(Dir, true); } catch (IOException) { } }
}

/// <summary>
/// Data-parallel training over Open MPI on this host: N ranks with batch B/N each step exactly like one process with
/// batch B (same weights within float rounding), for the tokenizer, VAR and MVAR's scale-group schedule, with class
/// dropout and stochastic depth on; a run resumes with another rank count; the collectives and the errors.
/// </summary>
public class DistributedTrainingTests(DistributedFixture fx) : IClassFixture<DistributedFixture>
{
    const double Tolerance = 1e-5;

    static void AssertOk(CliRunner.Result r) =>
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout:\n{r.StdOut}\nstderr:\n{r.StdErr}");

    /// <summary>The largest absolute difference between two weight files (same keys required) and the share of elements differing by more than
    /// <paramref name="tolerance"/>.</summary>
    static (double max, double shareAbove) Compare(string a, string b, double tolerance = Tolerance)
    {
        using var scope = NewDisposeScope();
        var x = Checkpoint.LoadStateDict(a);
        var y = Checkpoint.LoadStateDict(b);
        Assert.Equal(x.Keys.OrderBy(k => k), y.Keys.OrderBy(k => k));
        double max = 0; long above = 0, all = 0;
        foreach (var k in x.Keys)
        {
            var d = x[k].to_type(ScalarType.Float64).sub(y[k].to_type(ScalarType.Float64)).abs();
            max = Math.Max(max, d.max().item<double>());
            above += d.gt(tolerance).sum().item<long>();
            all += d.numel();
        }
        return (max, (double)above / all);
    }

    static double MaxDifference(string a, string b) => Compare(a, b).max;

    /// <summary>The numbers of a metrics.csv (rows of step and metrics; empty cells NaN).</summary>
    static double[][] Metrics(string dir) => File.ReadLines(Path.Combine(dir, "metrics.csv")).Skip(1)
        .Select(l => l.Split(',').Select(c => c == "" ? double.NaN : double.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();

    string[] Transformer(string arch, string outDir, long stopAfter) =>
        ["train", "transformer", "--arch", arch, "--config", fx.Config, "--vae", fx.Vae, "--data", "fashion-mnist", "--limit", "32",
         "--cache", Path.Combine(fx.Dir, "tokens.cache"), "--stop-after", stopAfter.ToString(CultureInfo.InvariantCulture), "--out", outDir];

    [MpiFact]
    public void TokenizerOnTwoRanksEqualsOneProcessWithTheWholeBatch()
    {
        // 5 steps of batch 8: code usage counts and a dead-code re-initialisation (code_reinit_every 4) included
        string[] Args(string o) => ["train", "tokenizer", "--config", fx.Config, "--init-from", fx.Vae, "--data", "fashion-mnist",
            "--limit", "48", "--stop-after", "5", "--out", o];
        string one = Path.Combine(fx.Dir, "tok1"), two = Path.Combine(fx.Dir, "tok2");
        AssertOk(Mpi.Single(Args(one)));
        var r = Mpi.Run(2, Args(two));
        AssertOk(r);
        Assert.Contains("data-parallel: 2 ranks x 4 images", r.StdOut);
        Assert.Single(r.StdOut.Split('\n'), l => l.Contains("stopped after step 5"));   // only rank 0 prints
        // the losses, code usage and re-initialisation counts of every logged step agree
        Assert.Equal(File.ReadLines(Path.Combine(one, "metrics.csv")).First(), File.ReadLines(Path.Combine(two, "metrics.csv")).First());
        var (m1, m2) = (Metrics(one), Metrics(two));
        Assert.Equal(m1.Length, m2.Length);
        // the gradient norm (before clipping) reacts to the GroupNorm-fed biases that AdamW moves by rounding noise (see
        // the weights below) more than any other column: seen 1.6e-5, 1.4e-4 and 3.1e-4 (relative) apart in loaded runs,
        // never on a quiet machine; why load widens it was not pinned down, so it alone gets 1e-3 (the losses keep 1e-5)
        int gradNorm = Array.IndexOf(File.ReadLines(Path.Combine(one, "metrics.csv")).First().Split(','), "grad_norm");
        for (int i = 0; i < m1.Length; i++)
            for (int j = 0; j < m1[i].Length; j++)
                Assert.True(Math.Abs(m1[i][j] - m2[i][j]) <= (j == gradNorm ? 1e-3 : 1e-5) * Math.Max(1, Math.Abs(m1[i][j])),
                    $"metrics row {i} column {j}: {m1[i][j]} vs {m2[i][j]}");
        // The weights agree within 1e-5 except a few conv biases feeding a GroupNorm: their gradient is zero up to
        // rounding, and AdamW turns that rounding noise (different for a batch of 8 than for 2 x 4) into steps of up to
        // lr. So: at most 0.1% of the elements beyond 1e-5, and none beyond 2 lr x steps.
        var (max, share) = Compare(Path.Combine(one, "model.pth"), Path.Combine(two, "model.pth"));
        Assert.InRange(share, 0, 1e-3);
        Assert.InRange(max, 0, 2 * 1e-3 * 5);
        Assert.NotEqual(0, MaxDifference(fx.Vae, Path.Combine(two, "model.pth")));
    }

    [MpiFact]
    public void VarOnTwoRanksOverTcpEqualsOneProcessWithTheWholeBatch()
    {
        string one = Path.Combine(fx.Dir, "var1"), two = Path.Combine(fx.Dir, "var2");
        AssertOk(Mpi.Single(Transformer("var", one, 3)));
        AssertOk(Mpi.Run(2, ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"], Transformer("var", two, 3)));
        Assert.InRange(MaxDifference(Path.Combine(one, "model.pth"), Path.Combine(two, "model.pth")), 0, Tolerance);
    }

    [MpiFact]
    public void MvarOnTwoRanksThenResumedInOneProcessEqualsOneProcess()
    {
        // MVAR's cycle here (ratio_k 2, 4 scales, refine_step 3): steps 0, 1 small scales, step 2 the large scale
        string one = Path.Combine(fx.Dir, "mvar1"), two = Path.Combine(fx.Dir, "mvar2");
        AssertOk(Mpi.Single(Transformer("mvar", one, 6)));
        AssertOk(Mpi.Run(2, Transformer("mvar", two, 3)));
        var resumed = Mpi.Single(["train", "transformer", "--resume", two, "--stop-after", "6"]);
        AssertOk(resumed);
        Assert.Contains("resuming at step 3", resumed.StdOut);
        Assert.InRange(MaxDifference(Path.Combine(one, "model.pth"), Path.Combine(two, "model.pth")), 0, Tolerance);
    }

    [MpiFact]
    public void CheckCommandSumsKnownBuffersAndBroadcastsRankZerosWeights()
    {
        var r = Mpi.Run(3, "mpi", "check", "--elements", "7", "--megabytes", "1");
        AssertOk(r);
        var lines = r.StdOut.Split('\n').Where(l => l.Contains("rank ")).Select(l => l[l.IndexOf("rank ", StringComparison.Ordinal)..]).ToList();
        Assert.Equal(3, lines.Count);
        var byRank = lines.ToDictionary(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture), l => l);
        Assert.Equal([0, 1, 2], byRank.Keys.Order());
        double Field(string line, string name) =>
            double.Parse(line[(line.IndexOf(name, StringComparison.Ordinal) + name.Length)..].Trim().Split(' ', ';')[0],
                System.Globalization.CultureInfo.InvariantCulture);
        foreach (var l in lines)
        {
            // rank r holds (r + 1) * (i + 1); the sum over 3 ranks is 6 * (i + 1)
            var sums = l[(l.IndexOf("allreduce ", StringComparison.Ordinal) + 10)..].Split(';')[0].Split(' ');
            Assert.Equal(6.0, double.Parse(sums[0], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(42.0, double.Parse(sums[1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(Field(byRank[0], "before"), Field(l, "after"));
        }
        Assert.NotEqual(Field(byRank[0], "before"), Field(byRank[1], "before"));
        Assert.NotEqual(Field(byRank[1], "before"), Field(byRank[2], "before"));
    }

    [MpiFact]
    public void BatchThatTheRanksCannotShareIsAnErrorThatStopsEveryRank()
    {
        var r = Mpi.Run(3, Transformer("var", Path.Combine(fx.Dir, "odd"), 2));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("mvar: error: the batch size 8 cannot be split evenly over 3 ranks", r.StdErr);
    }

    [Fact]
    public void MissingMpiLibraryUnderMpirunIsOneLineError()
    {
        var r = CliRunner.RunWith(new Dictionary<string, string>
        {
            [Communicators.LaunchVariable] = "2",
            [Communicators.LibraryVariable] = "libmpi-missing.so.99"
        }, [],
            "train", "tokenizer", "--config", fx.Config, "--data", "fashion-mnist", "--out", Path.Combine(fx.Dir, "nolib"));
        CliRunner.AssertOneLineError(r, "the MPI library libmpi-missing.so.99 cannot be loaded");
        Assert.Throws<MvarException>(() => new MpiCommunicator("libmpi-missing.so.99"));
    }

    [Fact]
    public void MpiOptionWithoutTheLauncherIsOneLineError()
    {
        var r = CliRunner.RunWith(new Dictionary<string, string> { [Communicators.LaunchVariable] = "" }, [],
            "train", "tokenizer", "--mpi", "--config", fx.Config, "--data", "fashion-mnist", "--out", Path.Combine(fx.Dir, "nolauncher"));
        CliRunner.AssertOneLineError(r, "not started by Open MPI's mpirun");
        Assert.False(Directory.Exists(Path.Combine(fx.Dir, "nolauncher")));
    }
}
