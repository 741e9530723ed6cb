using System.Text.Json;
using Mvar.Benchmarks;

namespace Mvar.Tests.Benchmarks;

public class BenchmarkResultTests
{
    [Fact]
    public void ClosingTheWindowRecordsTheMachineAndKeepsTheResultsOwnFields()
    {
        var window = BenchmarkResult.Open();
        var r = window.Close(new TrainingBenchmarkResult { Name = "t", Batch = 3, SecondsPerStep = 1.5 });
        Assert.Equal(("t", 3, 1.5), (r.Name, r.Batch, r.SecondsPerStep));
        Assert.False(string.IsNullOrEmpty(r.Machine));
        Assert.Equal(window.LoadAverageStart, r.LoadAverageStart);
        Assert.Equal(3, r.LoadAverageEnd.Length);
        Assert.True(DateTime.TryParse(r.Timestamp, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal, out var when));
        Assert.InRange((DateTime.UtcNow - when).TotalMinutes, -1, 1);
    }

    [Fact]
    public void TheJsonHoldsTheConcreteResultAndTheMachineAndReadsBack()
    {
        var r = BenchmarkResult.Open().Close(new SamplingBenchmarkResult { Name = "s", Batch = 2, GflopsPerImage = 7.25 });
        string json = r.ToJson();
        using var doc = JsonDocument.Parse(json);
        foreach (var key in new[] { "name", "batch", "gflops_per_image", "machine", "load_average_start", "load_average_end", "timestamp" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), $"{key} missing in {json}");
        var back = SamplingBenchmarkResult.FromJson(json);
        Assert.Equal((r.Name, r.Batch, r.GflopsPerImage, r.Machine, r.Timestamp), (back.Name, back.Batch, back.GflopsPerImage, back.Machine, back.Timestamp));
        Assert.Equal(r.LoadAverageEnd, back.LoadAverageEnd);
    }
}
