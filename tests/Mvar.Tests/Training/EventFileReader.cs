namespace Mvar.Tests.Training;

/// <summary>
/// Reads a TensorBoard event file as TensorBoard does: TFRecord framing (uint64 length, masked CRC32C of the length
/// bytes, the data, masked CRC32C of the data) around serialized <c>Event</c> protobufs. Every CRC is checked.
/// </summary>
public static class EventFileReader
{
    public static List<Tensorboard.Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Tensorboard.Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            Assert.True(at + 12 <= bytes.Length, $"{path}: a record header is cut at byte {at}");
            ulong len = BitConverter.ToUInt64(bytes, at);
            Assert.Equal(MaskedCrc(bytes.AsSpan(at, 8)), BitConverter.ToUInt32(bytes, at + 8));
            Assert.True((ulong)(bytes.Length - at - 16) >= len, $"{path}: a record of {len} bytes is cut at byte {at}");
            var data = bytes.AsSpan(at + 12, (int)len);
            Assert.Equal(MaskedCrc(data), BitConverter.ToUInt32(bytes, at + 12 + (int)len));
            events.Add(Tensorboard.Event.Parser.ParseFrom(data.ToArray()));
            at += 16 + (int)len;
        }
        return events;
    }

    /// <summary>(tag, step, value) of every scalar in the events.</summary>
    public static List<(string tag, long step, float value)> Scalars(IEnumerable<Tensorboard.Event> events) =>
        events.Where(e => e.Summary != null)
              .SelectMany(e => e.Summary.Value.Where(v => v.ValueCase == Tensorboard.Summary.Types.Value.ValueOneofCase.SimpleValue)
                                                .Select(v => (v.Tag, e.Step, v.SimpleValue)))
              .ToList();

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

    static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint c = Crc32C(data);
        return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
    }
}
