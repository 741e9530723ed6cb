using System.Diagnostics;
using Mvar.IO;
using Mvar.Tests.Fuzz;
using Mvar.Tests.IO;

namespace Mvar.Tests.Cli;

/// <summary>
/// The classes of hostile input of issue #18, through the real CLI: each gives one `mvar: error:` line naming the
/// problem, a non-zero exit, no file left, within seconds.
/// </summary>
public class HostileInputTests
{
    static readonly string[] Shipped = ["--preset", "fashion-mnist"];

    static CliRunner.Result Timed(params string[] args)
    {
        var sw = Stopwatch.StartNew();
        var r = CliRunner.Run(args);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"mvar {string.Join(' ', args)} took {sw.Elapsed}");
        return r;
    }

    [Fact]
    public void HostileCheckpointsAreCleanErrors()
    {
        string dir = Fixtures.TempDir();
        var cases = new (string name, byte[] bytes, string expected)[]
        {
            ("cycle-free-dag.pth", FuzzCases.DagCheckpoint(64), "no dict of tensors"),      // 2^64 if unfolded: read at its size
            ("deep.pth", FuzzCases.DeepCheckpoint(100_000), "nested deeper than 1000"),
            ("huge-storage.pth", FuzzCases.TensorCheckpoint(1_000_000_000_000L, 0L, [1_000_000_000_000L], [1L]), "has 64 bytes, but its 1000000000000"),
            ("overflow.pth", FuzzCases.TensorCheckpoint(16L, 0L, [1L << 32, 1L << 32], [1L, 1L]), "overflows 64 bits"),
            ("negative-stride.pth", FuzzCases.TensorCheckpoint(16L, 0L, [4L], [-1L]), "stride[0] is negative"),
            ("offset.pth", FuzzCases.TensorCheckpoint(16L, 15L, [4L], [1L]), "needs 19 elements"),
            ("text-size.pth", FuzzCases.TensorCheckpoint(16L, 0L, ["16"], [1L]), "size[0] must be an integer, got the text \"16\""),
            ("stride-zero.pth", FuzzCases.TensorCheckpoint(16L, 0L, [1L << 28], [0L]), "overlapping strides expand"),
        };
        foreach (var (name, bytes, expected) in cases)
        {
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, bytes);
            CliRunner.AssertOneLineError(Timed("inspect", path), expected);
        }
        // through a loader that builds a model, too
        CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--vae", Path.Combine(dir, "deep.pth"), "--out", Path.Combine(dir, "x.png")]),
            "nested deeper");
        CliRunner.AssertOneLineError(Timed("convert", Path.Combine(dir, "stride-zero.pth"), Path.Combine(dir, "out.safetensors")), "overlapping strides");
        Assert.False(File.Exists(Path.Combine(dir, "x.png")));
        Assert.False(File.Exists(Path.Combine(dir, "out.safetensors")));
    }

    [Fact]
    public void ALong4IntegerThatFitsIsALong()
    {
        string path = Path.Combine(Fixtures.TempDir(), "long4.pth");
        File.WriteAllBytes(path, FuzzCases.Long4Checkpoint());
        var root = (Dictionary<object, object?>)TorchCheckpoint.Load(path)!;
        Assert.Equal(16L, root["step"]);
        var r = CliRunner.Run("inspect", path);
        Assert.True(r.ExitCode == 0, r.StdErr);
    }

    [Fact]
    public void SpecialOutputPathsAreRefusedAndLeftAlone()
    {
        string dir = Fixtures.TempDir(), fifo = Path.Combine(dir, "pipe.png");
        Assert.True(AtomicFileTests.Sh("mkfifo", fifo));
        CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--count", "1", "--out", fifo]), "FIFO");
        Assert.Equal(FileKind.Fifo, FileKinds.Of(fifo));
        string dev = Path.Combine(dir, "full");
        if (AtomicFileTests.Sh("mknod", dev, "c", "1", "7"))   // /dev/full's numbers, in the test's folder (root only)
        {
            CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--count", "1", "--out", dev]), "character device");
            Assert.Equal(FileKind.CharDevice, FileKinds.Of(dev));
        }
        CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--out", ""]), "no output path");
        CliRunner.AssertOneLineError(Timed("inspect", fifo), "FIFO");
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void OutOfRangeSamplingValuesAreOneRule()
    {
        string o = Path.Combine(Fixtures.TempDir(), "s.png");
        CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--count", "1000000000", "--out", o]), "--count must be within [1, 65536]");
        CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--count", "6000", "--out", o]), "needs about");
        CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--cfg", "1e308", "--out", o]), "cfg must be within [0, 20]");
        CliRunner.AssertOneLineError(Timed(["sample", .. Shipped, "--top-k", "1000000", "--out", o]), "top-k must be within [0, 256]");
        Assert.False(File.Exists(o));
    }

    [Fact]
    public void ParseErrorsAreOneLineWithTheHelpToRead()
    {
        var r = Timed("sample", "--bogus", "3");
        CliRunner.AssertOneLineError(r, "(see 'mvar sample --help')");
        Assert.Equal(1, r.ExitCode);
        CliRunner.AssertOneLineError(Timed("sample", "--count", "many"), "many");
        CliRunner.AssertOneLineError(Timed("nosuchcommand"), "(see 'mvar --help')");
    }

    [Fact]
    public void BadConfigsAndImagesAreOneLineErrors()
    {
        string dir = Fixtures.TempDir(), cfg = Path.Combine(dir, "c.json");
        File.WriteAllText(cfg, """{"tokenizer": null, "transformer": {"depth": 2147483647, "head_dim": 4}, "training": {"epochz": 1}}""");
        var r = Timed("sample", "--config", cfg, "--vae", "v.pth", "--model", "m.pth");
        CliRunner.AssertOneLineError(r, "3 problems");
        foreach (var part in new[] { "tokenizer: must be an object", "transformer.head_dim", "training.epochz" }) Assert.Contains(part, r.StdErr);

        var png = FuzzCases.BlackPng(32, 32);
        string cut = Path.Combine(dir, "cut.png");
        File.WriteAllBytes(cut, png[..(png.Length - 20)]);
        CliRunner.AssertOneLineError(Timed(["reconstruct", .. Shipped, cut, "--out", Path.Combine(dir, "r.png")]), "truncated PNG");
        string tall = Path.Combine(dir, "tall.png");
        File.WriteAllBytes(tall, FuzzCases.BlackPng(1, 1_000_000));
        CliRunner.AssertOneLineError(Timed(["reconstruct", .. Shipped, tall, "--out", Path.Combine(dir, "r.png")]), "too elongated");
        Assert.False(File.Exists(Path.Combine(dir, "r.png")));
    }
}
