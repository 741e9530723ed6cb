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
