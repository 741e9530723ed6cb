using System.Diagnostics;
using Mvar.IO;

namespace Mvar.Tests.IO;

/// <summary>Honest writes: temp file + fsync + rename, only over regular files; special targets and I/O errors are clean errors.</summary>
public class AtomicFileTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("mvar-atomic-").FullName;
    public void Dispose() { try { Directory.Delete(dir, true); } catch (IOException) { } }

    internal static bool Sh(string cmd, params string[] args)
    {
        var psi = new ProcessStartInfo(cmd) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try { using var p = Process.Start(psi)!; p.Exit(cmd); return p.ExitCode == 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    string[] Leftovers() => Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n!.EndsWith(".tmp", StringComparison.Ordinal) || n.EndsWith(".part",
        StringComparison.Ordinal)).ToArray()!;

    [Fact]
    public void WritesANewFileAndReplacesARegularOneKeepingItsMode()
    {
        if (OperatingSystem.IsWindows()) return;
        string f = Path.Combine(dir, "a.txt");
        AtomicFile.WriteAllText(f, "one");
        File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        AtomicFile.WriteAllText(f, "two");
        Assert.Equal("two", File.ReadAllText(f));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(f));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void AFifoAtTheTargetIsAnErrorAndStaysAFifo()
    {
        string fifo = Path.Combine(dir, "pipe.png");
        Assert.True(Sh("mkfifo", fifo));
        var e = Assert.Throws<MvarException>(() => AtomicFile.WriteAllText(fifo, "x"));
        Assert.Contains("FIFO", e.Message);
        Assert.Equal(FileKind.Fifo, FileKinds.Of(fifo));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void ADeviceNodeAtTheTargetIsAnErrorAndStaysADevice()
    {
        // a new node in the test's own folder with /dev/full's numbers (1, 7): needs root; the real /dev is never touched
        string dev = Path.Combine(dir, "full");
        if (!Sh("mknod", dev, "c", "1", "7")) return;
        string link = Path.Combine(dir, "link-to-full.png");
        File.CreateSymbolicLink(link, dev);
        foreach (var target in new[] { dev, link })
        {
            var e = Assert.Throws<MvarException>(() => AtomicFile.WriteAllText(target, "x"));
            Assert.Contains("character device", e.Message);
        }
        Assert.Equal(FileKind.CharDevice, FileKinds.Of(dev));
        Assert.Equal(FileKind.Symlink, FileKinds.Of(link));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void ASymlinkIsWrittenThroughToItsTarget()
    {
        string real = Path.Combine(dir, "real.json"), link = Path.Combine(dir, "link.json");
        File.WriteAllText(real, "old");
        File.CreateSymbolicLink(link, "real.json");   // relative, as ln -s makes them
        AtomicFile.WriteAllText(link, "new");
        Assert.Equal(FileKind.Symlink, FileKinds.Of(link));
        Assert.Equal("new", File.ReadAllText(real));
        // a dangling link creates its target
        string dangling = Path.Combine(dir, "dangling.json");
        File.CreateSymbolicLink(dangling, Path.Combine(dir, "created.json"));
        AtomicFile.WriteAllText(dangling, "made");
        Assert.Equal("made", File.ReadAllText(Path.Combine(dir, "created.json")));
    }

    [Fact]
    public void DirectoriesEmptyNamesAndMissingFoldersAreErrors()
    {
        Assert.Contains("directory", Assert.Throws<MvarException>(() => AtomicFile.WriteAllText(dir, "x")).Message);
        Assert.Contains("empty", Assert.Throws<MvarException>(() => AtomicFile.WriteAllText("", "x")).Message);
        Assert.Contains("does not exist", Assert.Throws<MvarException>(() => AtomicFile.WriteAllText(Path.Combine(dir, "no", "x.png"), "x")).Message);
    }

    [Fact]
    public void AnIoErrorDuringTheWriteIsOneLineAndLeavesNoFile()
    {
        string f = Path.Combine(dir, "out.png");
        File.WriteAllText(f, "previous");
        var e = Assert.Throws<MvarException>(() => AtomicFile.Write(f, s => { s.WriteByte(1); throw new IOException("No space left on device : '/x'"); }));
        Assert.Equal($"cannot write {f}: No space left on device", e.Message);
        Assert.Equal("previous", File.ReadAllText(f));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void AFullDiskKeepsTheOldFileAndRemovesTheTemporary()
    {
        // a real ENOSPC: a 64 KiB tmpfs (needs root and mount; skipped otherwise)
        string mnt = Path.Combine(dir, "small");
        Directory.CreateDirectory(mnt);
        if (!Sh("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt)) return;
        try
        {
            string f = Path.Combine(mnt, "grid.png");
            AtomicFile.WriteAllBytes(f, new byte[1000]);
            var e = Assert.Throws<MvarException>(() => AtomicFile.WriteAllBytes(f, new byte[1 << 20]));
            Assert.Contains("No space left on device", e.Message);
            Assert.Equal(1000, new FileInfo(f).Length);
            Assert.Equal(["grid.png"], Directory.GetFiles(mnt).Select(Path.GetFileName));
        }
        finally { Sh("umount", mnt); }
    }

    [Fact]
    public void StaleTemporariesOfDeadProcessesAreCleanedOthersKept()
    {
        string stale = Path.Combine(dir, $".checkpoint.pth.999999999.{Guid.NewGuid():N}.tmp");
        string mine = Path.Combine(dir, $".checkpoint.pth.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        string stalePart = Path.Combine(dir, $".tokens.cache.999999998.{Guid.NewGuid():N}.part");
        string unrelated = Path.Combine(dir, "notes.tmp");
        foreach (var f in new[] { stale, mine, stalePart, unrelated }) File.WriteAllText(f, "x");
        var removed = AtomicFile.CleanStaleTemporaries(dir);
        Assert.Equal(2, removed.Count);
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(stalePart));
        Assert.True(File.Exists(mine));
        Assert.True(File.Exists(unrelated));
    }

    [Fact]
    public void ReadingAFifoOrADirectoryAsACheckpointIsRefusedAtOnce()
    {
        string fifo = Path.Combine(dir, "model.pth");
        Assert.True(Sh("mkfifo", fifo));
        var sw = Stopwatch.StartNew();
        foreach (var load in new Action[] { () => Checkpoint.LoadStateDict(fifo), () => TorchCheckpoint.Load(fifo), () => SafeTensors.Load(fifo),
            () => Npz.Load(fifo) })
            Assert.Contains("FIFO", Assert.ThrowsAny<MvarException>(load).Message);
        Assert.Contains("directory", Assert.Throws<CheckpointException>(() => Checkpoint.LoadStateDict(dir)).Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }
}
