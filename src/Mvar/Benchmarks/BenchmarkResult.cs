using System.Globalization;
using System.Text.Json;
using Mvar.Diagnostics;
using Mvar.IO;

namespace Mvar.Benchmarks;

/// <summary>
/// What every benchmark result records of the machine it ran on — the CPU, the load average before and after the run,
/// when it ended — so that a figure is never read without the conditions it was measured under; and its JSON form.
/// </summary>
public abstract record BenchmarkResult
{
    public string Machine { get; init; } = "";
    public double[] LoadAverageStart { get; init; } = [];
    public double[] LoadAverageEnd { get; init; } = [];
    public string Timestamp { get; init; } = "";

    /// <summary>The result as JSON (snake_case keys, every property of the concrete result).</summary>
    public string ToJson() => ReportJson.Serialize<object>(this);

    protected static T FromJson<T>(string json) where T : BenchmarkResult => JsonSerializer.Deserialize<T>(json, ReportJson.Options)!;

    /// <summary>Opens the measuring window: the load average now.</summary>
    public static Window Open() => new(MachineInfo.LoadAverage());

    public readonly record struct Window(double[] LoadAverageStart)
    {
        /// <summary>The result with the machine, both load averages and the time stamp filled in.</summary>
        public T Close<T>(T result) where T : BenchmarkResult => (T)((BenchmarkResult)result with
        {
            Machine = MachineInfo.CpuModel(),
            LoadAverageStart = LoadAverageStart,
            LoadAverageEnd = MachineInfo.LoadAverage(),
            Timestamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        });
    }
}
