using System.IO.Compression;
using Mvar.IO;
using static TorchSharp.torch;

namespace Mvar.Tests.IO;

public class TorchCheckpointTests
{
    [Fact]
    public void ReadsAStateDictWithItsShapesAndDtypes()
    {
        var sd = TorchCheckpoint.LoadStateDict(Fixtures.Parity("var.pth"));
        Assert.Equal(38, sd.Count);
        Assert.Equal(new long[] { 1, 1, 64 }, sd["pos_start"].shape);
        Assert.Equal(ScalarType.Int64, sd["lvl_1L"].dtype);
        Assert.Equal(new long[] { 1, 130 }, sd["lvl_1L"].shape);
        // lvl_1L holds the scale index of every position: begin_ends [[0,1],[1,5],[5,14],[14,30],[30,66],[66,130]]
        var lvl = sd["lvl_1L"].data<long>().ToArray();
        Assert.Equal(0, lvl[0]);
        Assert.Equal(1, lvl[4]);
        Assert.Equal(5, lvl[129]);
        Assert.Equal(4, lvl[65]);
    }

    [Fact]
    public void WrappedAndTrainerLayoutsGiveTheSameWeights()
    {
        var plain = TorchCheckpoint.LoadStateDict(Fixtures.Parity("mvar.pth"));
        var wrapped = TorchCheckpoint.LoadStateDict(Fixtures.Parity("mvar_wrapped.pth"));
        var trainerAuto = TorchCheckpoint.LoadStateDict(Fixtures.Parity("mvar_trainer.pth"));
        var trainerKey = TorchCheckpoint.LoadStateDict(Fixtures.Parity("mvar_trainer.pth"), "trainer/mvar_wo_ddp");
        foreach (var other in new[] { wrapped, trainerAuto, trainerKey })
        {
            Assert.Equal(plain.Keys, other.Keys);
            foreach (var (k, t) in plain) TensorAssert.Equal(t, other[k], k);
        }
    }

    [Fact]
    public void TrainerCheckpointKeepsTheArgumentsObjectInert()
    {
        var root = (Dictionary<object, object?>)TorchCheckpoint.Load(Fixtures.Parity("mvar_trainer.pth"))!;
        Assert.Equal(3L, root["epoch"]);
        var args = Assert.IsType<PickleObject>(root["args"]);
        Assert.Equal("utils.arg_util", args.Type.Module);
        Assert.Equal("Args", args.Type.Name);
        var state = Assert.IsType<Dictionary<object, object?>>(args.State);
        Assert.Equal(2L, state["depth"]);
    }

    [Fact]
    public void MaliciousReduceNeverRuns()
    {
        const string marker = "/tmp/mvar-evil-pickle-ran";
        if (File.Exists(marker)) File.Delete(marker);
        var root = (Dictionary<object, object?>)TorchCheckpoint.Load(Fixtures.Parity("evil.pth"))!;
        Assert.False(File.Exists(marker));
        var payload = Assert.IsType<PickleObject>(root["payload"]);
        Assert.Equal("system", payload.Type.Name);
        var w = Assert.IsAssignableFrom<Tensor>(root["weight"]);
        Assert.Equal(new long[] { 2, 3 }, w.shape);
        // and the state-dict view picks the only tensor
        var sd = TorchCheckpoint.LoadStateDict(Fixtures.Parity("evil.pth"), null);
        Assert.Single(sd);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void AskingForSomethingThatIsNotAStateDictIsAClearError()
    {
        var e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(Fixtures.Parity("mvar_trainer.pth"), "trainer/config"));
        Assert.Contains("trainer/config", e.Message);
        Assert.Contains("not a dict of tensors", e.Message);
        e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(Fixtures.Parity("mvar_trainer.pth"), "nope"));
        Assert.Contains("no key 'nope'", e.Message);
        Assert.Contains("trainer", e.Message);
    }

    [Fact]
    public void SeveralCandidatesAreListed()
    {
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "two.pth");
        var a = new Dictionary<string, Tensor> { ["w"] = ones(2) };
        TorchSave.Save(path, new Dictionary<string, object?> { ["ema"] = a, ["model"] = a });
        var e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("ema", e.Message);
        Assert.Contains("model", e.Message);
        TensorAssert.Equal(ones(2), TorchCheckpoint.LoadStateDict(path, "model")["w"]);
    }

    [Fact]
    public void MissingTruncatedAndCorruptFilesAreClearErrors()
    {
        string dir = Fixtures.TempDir();
        var e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(Path.Combine(dir, "none.pth")));
        Assert.Contains("not found", e.Message);

        byte[] bytes = File.ReadAllBytes(Fixtures.Parity("var.pth"));
        string truncated = Path.Combine(dir, "truncated.pth");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(truncated));
        Assert.Contains("truncated.pth", e.Message);

        string garbage = Path.Combine(dir, "garbage.pth");
        File.WriteAllText(garbage, "this is not a checkpoint");
        e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(garbage));
        Assert.Contains("garbage.pth", e.Message);
    }

    [Fact]
    public void AStorageShorterThanItsTensorIsRejected()
    {
        // Rewrite evil.pth's storage '0' (6 floats for a 2x3 tensor) with only 4 floats.
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "short.pth");
        using (var src = ZipFile.OpenRead(Fixtures.Parity("evil.pth")))
        using (var dst = ZipFile.Open(path, ZipArchiveMode.Create))
            foreach (var entry in src.Entries)
            {
                using var from = entry.Open();
                var ms = new MemoryStream();
                from.CopyTo(ms);
                byte[] data = entry.FullName.EndsWith("data/0", StringComparison.Ordinal) ? ms.ToArray()[..16] : ms.ToArray();
                using var to = dst.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                to.Write(data);
            }
        var e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("storage '0'", e.Message);
    }

    [Fact]
    public void CorruptPickleIsAClearError()
    {
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "badpickle.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("archive/data.pkl").Open())
            s.Write(new byte[] { 0x80, 0x02, 0x7d, 0xff });
        var e = Assert.Throws<CheckpointException>(() => TorchCheckpoint.LoadStateDict(path));
        Assert.Contains("corrupt", e.Message);
        Assert.Contains("badpickle.pth", e.Message);
    }
}
