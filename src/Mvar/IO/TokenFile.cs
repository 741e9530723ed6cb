using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mvar.IO;

/// <summary>
/// The token file of <c>mvar tokenize</c>:
/// <c>{"patch_nums": [1, 2, ...], "images": [{"file": "a.png", "scales": [[...], [...], ...]}]}</c>,
/// each scale's indices row-major (pn*pn of them).
/// </summary>
public sealed record TokenFile(int[] PatchNums, IReadOnlyList<TokenFile.Entry> Images)
{
    public sealed record Entry(string File, long[][] Scales);

    public string ToJson()
    {
        // one line per scale keeps the file readable and small
        var sb = new System.Text.StringBuilder();
        sb.Append("{\n  \"patch_nums\": [").Append(string.Join(", ", PatchNums)).Append("],\n  \"images\": [");
        for (int i = 0; i < Images.Count; i++)
        {
            var e = Images[i];
            sb.Append(i == 0 ? "\n" : ",\n").Append("    {\"file\": ").Append(JsonSerializer.Serialize(e.File)).Append(", \"scales\": [");
            for (int s = 0; s < e.Scales.Length; s++)
                sb.Append(s == 0 ? "\n" : ",\n").Append("      [").Append(string.Join(", ", e.Scales[s])).Append(']');
            sb.Append("\n    ]}");
        }
        sb.Append(Images.Count > 0 ? "\n  ]\n}\n" : "]\n}\n");
        return sb.ToString();
    }

    /// <summary>Writes the file atomically (temp file in the same folder + rename).</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    public static TokenFile Load(string path)
    {
        FileKinds.RequireRegularFile(path, "token file");
        try
        {
            var root = JsonNode.Parse(System.IO.File.ReadAllText(path))!.AsObject();
            var pns = root["patch_nums"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            var images = root["images"]!.AsArray().Select(n => new Entry(
                n!["file"]!.GetValue<string>(),
                n["scales"]!.AsArray().Select(s => s!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray())).ToList();
            foreach (var e in images)
            {
                if (e.Scales.Length > pns.Length) throw new FormatException($"{e.File}: more scales than patch_nums");
                for (int s = 0; s < e.Scales.Length; s++)
                    if (e.Scales[s].Length != pns[s] * pns[s])
                        throw new FormatException($"{e.File}: scale {s} has {e.Scales[s].Length} tokens, expected {pns[s] * pns[s]}");
            }
            return new TokenFile(pns, images);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new MvarException($"malformed token file {path}: {e.Message}", e);
        }
    }
}
