using System.Numerics;
using static TorchSharp.torch;

namespace Mvar.Training;

/// <summary>
/// Typed reads of the fields of a training checkpoint (checkpoint.pth), so that a damaged or crafted file fails with a
/// <see cref="CheckpointException"/> naming the file and the field instead of a cast or a libtorch error.
/// </summary>
static class CheckpointFields
{
    public static object Required(IReadOnlyDictionary<object, object?> d, string key, string where) =>
        d.TryGetValue(key, out var v) && v is not null ? v : throw new CheckpointException($"{where}: the field '{key}' is missing");

    public static string String(IReadOnlyDictionary<object, object?> d, string key, string where) =>
        Required(d, key, where) as string ?? throw WrongType(d[key], key, where, "a string");

    public static long Int64(IReadOnlyDictionary<object, object?> d, string key, string where, long min = 0, long max = long.MaxValue)
    {
        long v = Required(d, key, where) switch
        {
            long l => l,
            int i => i,
            BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
            var other => throw WrongType(other, key, where, "an integer"),
        };
        if (v < min || v > max) throw new CheckpointException($"{where}: the field '{key}' is {v}, outside [{min}, {max}]");
        return v;
    }

    /// <summary>A tensor field of the given dtype and, when <paramref name="rank"/> is set, that number of dimensions.</summary>
    public static Tensor Tensor(IReadOnlyDictionary<object, object?> d, string key, string where, ScalarType dtype, int? rank = 1)
    {
        var t = Required(d, key, where) as Tensor ?? throw WrongType(d[key], key, where, "a tensor");
        if (t.dtype != dtype || (rank is int r && t.dim() != r))
            throw new
                CheckpointException($"{where}: the field '{key}' is a {t.dtype} tensor of shape [{string.Join(", ", t.shape)}], expected {dtype} with "
                + $"{rank} dimension(s)");
        return t;
    }

    /// <summary>Runs <paramref name="restore"/>, turning the errors of malformed saved state into one message naming the field.</summary>
    public static void Restoring(string key, string where, Action restore)
    {
        try { restore(); }
        catch (Exception e) when (e is EndOfStreamException or IOException or InvalidDataException or ArgumentException or InvalidOperationException
                                      or FormatException or OverflowException or IndexOutOfRangeException or System.Runtime.InteropServices.ExternalException
                                      or System.Text.Json.JsonException)
        {
            throw new CheckpointException($"{where}: the field '{key}' cannot be restored: {FirstLine(e.Message)}", e);
        }
    }

    static string FirstLine(string m) => m.Split('\n', 2)[0].TrimEnd('.');

    static CheckpointException WrongType(object? v, string key, string where, string expected) =>
        new($"{where}: the field '{key}' is {(v is null ? "null" : v.GetType().Name)}, expected {expected}");
}
