using System.Globalization;
using Mvar.IO;
using Mvar.Training;

namespace Mvar.Tests.Training;

public class CheckpointAndLogTests
{
    [Fact]
    public void ACrashMidWriteLeavesTheOldCheckpointLoadable()
    {
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "ck.pth");
        using var w = TorchSharp.torch.arange(6).to_type(TorchSharp.torch.ScalarType.Float32);
        TorchSave.Save(path, new Dictionary<string, object?> { ["w"] = w, ["step"] = 5L });
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<MvarException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new IOException("simulated crash (disk full) mid-write");
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        var root = (Dictionary<object, object?>)TorchCheckpoint.Load(path)!;
        Assert.Equal(5L, Convert.ToInt64(root["step"], CultureInfo.InvariantCulture));
        Assert.Equal([path], Directory.GetFiles(dir));   // no temporary left behind
    }

    [Fact]
    public void MetricsAreAppendedOnResumeSoAKillLosesNoRows()
    {
        string dir = Fixtures.TempDir(), path = Path.Combine(dir, "metrics.csv");
        using (var log = new CsvLog(path, ["loss"], 0))
            for (int s = 0; s < 5; s++) log.Write(s, new Dictionary<string, double> { ["loss"] = 10 - s });
        File.AppendAllText(path, "5,4.");                      // a row torn by kill -9
        byte[] before = File.ReadAllBytes(path);
        using (var log = new CsvLog(path, ["loss"], 3))          // resumed from the checkpoint of step 3
        {
            Assert.Equal(before, File.ReadAllBytes(path)[..before.Length]);   // nothing rewritten
            for (int s = 3; s < 7; s++) log.Write(s, new Dictionary<string, double> { ["loss"] = 100 - s });
        }
        var rows = CsvLog.ReadColumn(path, "loss");
        Assert.Equal([0L, 1, 2, 3, 4, 5, 6], rows.Select(r => r.step));
        Assert.Equal([10.0, 9, 8, 97, 96, 95, 94], rows.Select(r => r.value));  // the resumed run's rows win
        Assert.Throws<MvarException>(() => new CsvLog(path, ["loss", "acc"], 3));  // other columns: not appended to
    }

    [Fact]
    public void LrScheduleFollowsTheOfficialLrWdAnnealing()
    {
        // warm-up: wp0 + (1 - wp0) * it / wp
        var (lr, wd) = LrSchedule.At("lin0", 1.0, 0.05, 0.0, 5, 10, 100, 0.005, 0.01);
        Assert.Equal(0.005 + 0.995 * 0.5, lr, 12);
        Assert.Equal(0.5 * 0.05 * (1 + Math.Cos(Math.PI * 5 / 99.0)), wd, 12);
        Assert.Equal(1.0, LrSchedule.At("lin0", 1.0, 0.05, 0.05, 12, 10, 100, 0.005, 0.01).lr, 12);   // plateau (pasd < 0.05)
        Assert.Equal(0.01, LrSchedule.At("lin0", 1.0, 0.05, 0.05, 99, 10, 100, 0.005, 0.01).lr, 12);  // wpe at the end
        Assert.Equal(0.01 + 0.99 * 0.5, LrSchedule.At("cos", 1.0, 0.05, 0.05, 55, 10, 101, 0.005, 0.01).lr, 12);
        Assert.Equal(2e-4, LrSchedule.At("lin00", 2e-4, 0, 0, 10, 10, 100, 0.005, 0.01).lr, 12);
    }
}
