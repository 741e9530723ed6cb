using System.Text;
using System.Text.Json.Nodes;
using Mvar.IO;

namespace Mvar.Sampling;

/// <summary>
/// The token file of <c>mvar sample --tokens-out</c>:
/// <c>{"patch_nums": [1, 2, ...], "samples": [{"class": 3, "scales": [[...], [...], ...]}]}</c>, each scale row-major.
/// </summary>
public sealed record SampleTokenFile(int[] PatchNums, IReadOnlyList<SampleTokenFile.Entry> Samples)
{
    public sealed record Entry(long Class, long[][] Scales);

    public static SampleTokenFile From(SampleResult result, IReadOnlyList<int> patchNums) =>
        new(patchNums.ToArray(), result.Classes.Select((c, b) => new Entry(c, result.TokensOf(b))).ToList());

    public string ToJson()
    {
        var sb = new StringBuilder();
        sb.Append("{\n  \"patch_nums\": [").Append(string.Join(", ", PatchNums)).Append("],\n  \"samples\": [");
        for (int i = 0; i < Samples.Count; i++)
        {
            sb.Append(i == 0 ? "\n" : ",\n").Append("    {\"class\": ").Append(Samples[i].Class).Append(", \"scales\": [");
            var scales = Samples[i].Scales;
            for (int s = 0; s < scales.Length; s++)
                sb.Append(s == 0 ? "\n" : ",\n").Append("      [").Append(string.Join(", ", scales[s])).Append(']');
            sb.Append("\n    ]}");
        }
        sb.Append(Samples.Count > 0 ? "\n  ]\n}\n" : "]\n}\n");
        return sb.ToString();
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    public static SampleTokenFile Load(string path)
    {
        IO.FileKinds.RequireRegularFile(path, "token file");
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var pns = root["patch_nums"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            var samples = root["samples"]!.AsArray().Select(n => new Entry(
                n!["class"]!.GetValue<long>(),
                n["scales"]!.AsArray().Select(s => s!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray())).ToList();
            foreach (var e in samples)
                for (int s = 0; s < e.Scales.Length; s++)
                    if (s >= pns.Length || e.Scales[s].Length != pns[s] * pns[s])
                        throw new FormatException($"sample of class {e.Class}: scale {s} does not fit patch_nums");
            return new SampleTokenFile(pns, samples);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new MvarException($"malformed token file {path}: {e.Message}", e);
        }
    }
}
