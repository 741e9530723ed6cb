using System.Globalization;
using System.Text;

namespace Mvar.Training;

/// <summary>
/// Metrics as CSV rows (step first), appended and never rewritten: a resumed run adds its rows after the ones already
/// there, so a kill at any moment loses no history. Rows of steps a killed run logged after its last checkpoint are
/// logged again by the resumed run; readers (<see cref="ReadColumn"/>) keep the last row of each step.
/// </summary>
public sealed class CsvLog : IDisposable
{
    readonly StreamWriter w;
    readonly string[] columns;

    public CsvLog(string path, IReadOnlyList<string> columns, long resumeStep, bool createDir = false)
    {
        if (createDir) Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        this.columns = ["step", .. columns];
        string header = string.Join(",", this.columns);
        string target = IO.AtomicFile.CheckTarget(path);
        bool append = resumeStep > 0 && File.Exists(target) && new FileInfo(target).Length > 0;
        if (append)
        {
            string first = File.ReadLines(target).First();
            if (first != header)
                throw new MvarException($"{path}: its columns ({first}) are not this run's ({header}); move it away to resume");
        }
        else IO.AtomicFile.WriteAllText(path, header + "\n");   // a new run starts a new file
        bool newline = append && !EndsWithNewline(target);      // a row torn by a kill stays a line of its own
        w = new StreamWriter(new FileStream(target, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        if (newline) w.WriteLine();
        w.Flush();
    }

    static bool EndsWithNewline(string path)
    {
        using var f = File.OpenRead(path);
        if (f.Length == 0) return true;
        f.Position = f.Length - 1;
        return f.ReadByte() == '\n';
    }

    public void Write(long step, IReadOnlyDictionary<string, double> values)
    {
        var sb = new StringBuilder(step.ToString(CultureInfo.InvariantCulture));
        foreach (var c in columns.Skip(1))
        {
            sb.Append(',');
            if (values.TryGetValue(c, out var v)) sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
        }
        w.WriteLine(sb.ToString());
        w.Flush();
    }

    /// <summary>
    /// (step, value) pairs of one column of a CSV written by this class, in step order; of a step logged twice (by a
    /// killed run and again by its resumption) the last row counts, and torn or malformed rows are skipped.
    /// </summary>
    public static List<(long step, double value)> ReadColumn(string path, string column)
    {
        var lines = File.ReadAllLines(path);
        var result = new SortedDictionary<long, double>();
        if (lines.Length == 0) return [];
        int c = Array.IndexOf(lines[0].Split(','), column);
        if (c < 0) return [];
        foreach (var l in lines.Skip(1))
        {
            var parts = l.Split(',');
            if (!long.TryParse(parts[0], CultureInfo.InvariantCulture, out long step)) continue;
            if (c < parts.Length && double.TryParse(parts[c], CultureInfo.InvariantCulture, out double v)) result[step] = v;
            else result.Remove(step);
        }
        return result.Select(kv => (kv.Key, kv.Value)).ToList();
    }

    public void Dispose() => w.Dispose();
}

/// <summary>
/// A TensorBoard event file written by hand: TFRecord framing (uint64 length, masked CRC32C of the length, data,
/// masked CRC32C of the data) around serialized <c>Event</c> protobufs (wall_time, step, file_version or a
/// <c>Summary</c> of scalar <c>simple_value</c>s).
/// </summary>
public sealed class TfEventsWriter : IDisposable
{
    readonly FileStream f;

    public TfEventsWriter(string dir)
    {
        string name = $"events.out.tfevents.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Environment.MachineName}.{Environment.ProcessId}.mvar";
        f = new FileStream(Path.Combine(dir, name), FileMode.Create, FileAccess.Write);
        var e = new List<byte>();
        Double(e, 1, Now());
        Bytes(e, 3, Encoding.ASCII.GetBytes("brain.Event:2"));
        Record(e.ToArray());
    }

    static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public void Scalars(long step, IReadOnlyDictionary<string, double> values)
    {
        var summary = new List<byte>();
        foreach (var (tag, v) in values)
        {
            if (double.IsNaN(v)) continue;
            var value = new List<byte>();
            Bytes(value, 1, Encoding.UTF8.GetBytes(tag));
            value.Add((2 << 3) | 5); value.AddRange(BitConverter.GetBytes((float)v));   // simple_value: fixed32
            Bytes(summary, 1, value.ToArray());
        }
        var e = new List<byte>();
        Double(e, 1, Now());
        e.Add(2 << 3); Varint(e, (ulong)step);
        Bytes(e, 5, summary.ToArray());
        Record(e.ToArray());
    }

    void Record(byte[] data)
    {
        var len = BitConverter.GetBytes((ulong)data.Length);
        f.Write(len);
        f.Write(BitConverter.GetBytes(MaskedCrc(len)));
        f.Write(data);
        f.Write(BitConverter.GetBytes(MaskedCrc(data)));
        f.Flush();
    }

    static void Double(List<byte> b, int field, double v) { b.Add((byte)((field << 3) | 1)); b.AddRange(BitConverter.GetBytes(v)); }
    static void Bytes(List<byte> b, int field, byte[] v) { b.Add((byte)((field << 3) | 2)); Varint(b, (ulong)v.Length); b.AddRange(v); }
    static void Varint(List<byte> b, ulong v) { while (v >= 0x80) { b.Add((byte)(v | 0x80)); v >>= 7; } b.Add((byte)v); }

    static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var x in data) c = Table[(c ^ x) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint c = Crc32C(data);
        return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
    }

    public void Dispose() => f.Dispose();
}
