using Mvar.Data;
using Mvar.Tokenizer;
using Mvar.Training;
using StbImageSharp;

namespace Mvar.Tests.Training;

/// <summary>The run folder's TensorBoard events (TorchSharp's SummaryWriter), read back as TensorBoard reads them.</summary>
public class TensorBoardEventsTests
{
    [Fact]
    public void EventsHoldTheLoggedScalarsAndReconstructionsAcrossAResume()
    {
        var t = new Mvar.Config.TrainingConfig { Epochs = 2, BatchSize = 4, TokLr = 1e-3, CodeReinitEvery = 0, LogEvery = 1 };
        var config = TokenizerTrainingTests.TinyFmnist(t);
        var data = new SyntheticImages(8);
        string dir = Fixtures.TempDir();
        long start = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var pngs = new List<string>();
        void Train(long? stopAfter)
        {
            using var v = new VqVae(config.Tokenizer);
            var batches = new ImageBatches(data, new Preprocess(32, 1, Pad: true));
            using var tr = new TokenizerTrainer(config, v, batches);
            if (stopAfter == null) tr.Restore(dir);
            using var val = batches.Load([0, 1, 2, 3], train: false)!.Value.images;
            TrainingRun.Run(tr, dir, new RunOptions
            {
                StopAfter = stopAfter,
                EpochImage = ("reconstructions", e =>
                {
                    string png = Path.Combine(dir, $"recon-epoch{e + 1:D3}.png");
                    tr.SaveReconstructions(val, png);
                    pngs.Add(png);
                    return png;
                }
                ),
            });
        }
        Train(stopAfter: 3);                                   // steps 0-2, the first epoch's image after step 1
        var first = Directory.GetFiles(dir, "events.out.tfevents.*").Single();
        byte[] before = File.ReadAllBytes(first);
        Train(stopAfter: null);                                // resumed: step 3, the second epoch's image
        long end = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        // the first run's file first: the names carry whole seconds, so both may sort either way in a listing
        var files = Directory.GetFiles(dir, "events.out.tfevents.*").OrderBy(f => f == first ? 0 : 1).ToArray();
        Assert.Equal(2, files.Length);                         // the resumed run adds its own file ...
        Assert.Equal(before, File.ReadAllBytes(first));        // ... and leaves the first one as it was
        var events = files.Select(EventFileReader.Read).ToList();
        Assert.All(events, e => Assert.Equal("brain.Event:2", e[0].FileVersion));
        var all = events.SelectMany(e => e).ToList();

        // every value of metrics.csv is a scalar of the same name and step, once
        var scalars = EventFileReader.Scalars(all);
        Assert.Equal(scalars.Count, scalars.Select(s => (s.tag, s.step)).Distinct().Count());
        var expected = new List<(string tag, long step, float value)>();
        using (var v = new VqVae(config.Tokenizer))
        using (var tr = new TokenizerTrainer(config, v, new ImageBatches(data, new Preprocess(32, 1, Pad: true))))
            foreach (var name in tr.MetricNames)
                expected.AddRange(CsvLog.ReadColumn(Path.Combine(dir, TrainingRun.MetricsFile), name).Select(r => (name, r.step, (float)r.value)));
        Assert.Contains(expected, e => e.tag == "loss");
        Assert.Contains(expected, e => e.tag == "usage_s0");
        Assert.Equal(expected.OrderBy(e => e.tag, StringComparer.Ordinal).ThenBy(e => e.step),
                     scalars.OrderBy(e => e.tag, StringComparer.Ordinal).ThenBy(e => e.step));
        Assert.Equal([0L, 1, 2, 3], scalars.Where(s => s.tag == "loss").Select(s => s.step));
        Assert.All(all.Where(e => e.Summary != null), e => Assert.InRange(e.WallTime, start - 1, end + 1));

        // the reconstructions PNG of each epoch, at the epoch's last step, with the pixels of the file
        var images = all.Where(e => e.Summary != null).SelectMany(e => e.Summary.Value.Where(x => x.Image != null).Select(x => (e.Step, x))).ToList();
        Assert.Equal([1L, 3], images.Select(i => i.Step));
        Assert.All(images, i => Assert.Equal("reconstructions", i.x.Tag));
        Assert.Equal(2, pngs.Count);
        foreach (var ((_, x), png) in images.Zip(pngs))
        {
            var want = ImageResult.FromMemory(File.ReadAllBytes(png), ColorComponents.Grey);
            var got = ImageResult.FromMemory(x.Image.EncodedImageString.ToByteArray(), ColorComponents.Grey);
            Assert.Equal((want.Width, want.Height), (got.Width, got.Height));
            Assert.Equal((want.Width, want.Height), (x.Image.Width, x.Image.Height));
            Assert.Equal(want.Data, got.Data);
        }
    }
}
