using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Ingest.Core.Events;

namespace Ingest.Core.Pipeline.Wal;

/// <summary>What a record holds.</summary>
internal enum WalRecordKind : byte
{
    /// <summary>One accepted event and its envelope.</summary>
    Event = 1,

    /// <summary>Ids of events delivered or dead-lettered: not to be replayed.</summary>
    Done = 2,
}

/// <summary>
/// The on-disk format. A segment starts with <see cref="SegmentHeaderBytes"/> bytes (magic, sequence)
/// followed by records: <c>u32 payload length | u32 CRC-32C of the payload | payload</c>, little endian.
/// An event payload is <c>kind | id | receivedAtMs | target | route | sourceIp | contentType |
/// traceparent | header count | (name, value)* | body length | body</c>; strings are <c>i32 length
/// (-1 = null) | UTF-8</c>. A done payload is <c>kind | count | id*</c>.
/// </summary>
internal static class WalCodec
{
    public const int RecordHeaderBytes = 8;
    public const int SegmentHeaderBytes = 16;

    /// <summary>Largest payload a reader believes; a bigger length is a corrupt header, not a record.</summary>
    public const int MaxPayloadBytes = 256 * 1024 * 1024;

    private static readonly byte[] Magic = "INGWAL01"u8.ToArray();

    public static void WriteSegmentHeader(Span<byte> destination, long sequence)
    {
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], sequence);
    }

    /// <summary>The sequence number of a segment header, or null when the magic is wrong.</summary>
    public static long? ReadSegmentHeader(ReadOnlySpan<byte> header) =>
        header.Length >= SegmentHeaderBytes && header[..8].SequenceEqual(Magic)
            ? BinaryPrimitives.ReadInt64LittleEndian(header[8..])
            : null;

    /// <summary>Bytes <see cref="WriteEvent"/> will write, header included.</summary>
    public static int EventRecordLength(IngestEvent e, string target)
    {
        var length = RecordHeaderBytes + 1 + 16 + 8
            + StringLength(target) + StringLength(e.RouteKey) + StringLength(e.SourceIp)
            + StringLength(e.ContentType) + StringLength(e.TraceParent) + 4;
        foreach (var (name, value) in e.Headers)
        {
            length += StringLength(name) + StringLength(value);
        }
        return length + 4 + e.Body.Length;
    }

    public static void WriteEvent(IBufferWriter<byte> output, IngestEvent e, string target, int recordLength)
    {
        var record = output.GetSpan(recordLength)[..recordLength];
        var payload = record[RecordHeaderBytes..];
        var at = 0;
        payload[at++] = (byte)WalRecordKind.Event;
        e.Id.TryWriteBytes(payload[at..]);
        at += 16;
        BinaryPrimitives.WriteInt64LittleEndian(payload[at..], e.ReceivedAtMs);
        at += 8;
        at += WriteString(payload[at..], target);
        at += WriteString(payload[at..], e.RouteKey);
        at += WriteString(payload[at..], e.SourceIp);
        at += WriteString(payload[at..], e.ContentType);
        at += WriteString(payload[at..], e.TraceParent);
        BinaryPrimitives.WriteInt32LittleEndian(payload[at..], e.Headers.Length);
        at += 4;
        foreach (var (name, value) in e.Headers)
        {
            at += WriteString(payload[at..], name);
            at += WriteString(payload[at..], value);
        }
        BinaryPrimitives.WriteInt32LittleEndian(payload[at..], e.Body.Length);
        at += 4;
        e.Body.Span.CopyTo(payload[at..]);
        at += e.Body.Length;
        WriteRecordHeader(record, payload[..at]);
        output.Advance(RecordHeaderBytes + at);
    }

    public static int DoneRecordLength(int count) => RecordHeaderBytes + 1 + 4 + (16 * count);

    public static void WriteDone(IBufferWriter<byte> output, ReadOnlySpan<Guid> ids)
    {
        var length = DoneRecordLength(ids.Length);
        var record = output.GetSpan(length)[..length];
        var payload = record[RecordHeaderBytes..];
        payload[0] = (byte)WalRecordKind.Done;
        BinaryPrimitives.WriteInt32LittleEndian(payload[1..], ids.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i].TryWriteBytes(payload[(5 + (16 * i))..]);
        }
        WriteRecordHeader(record, payload);
        output.Advance(length);
    }

    /// <summary>Checks a record header against the bytes that follow it; null when it is sound.</summary>
    public static string? CheckHeader(ReadOnlySpan<byte> header, long remaining, out int payloadLength)
    {
        payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (payloadLength <= 0 || payloadLength > MaxPayloadBytes)
        {
            return $"impossible record length {payloadLength}";
        }
        return payloadLength > remaining ? $"record of {payloadLength} bytes cut off after {remaining}" : null;
    }

    /// <summary>True when the payload matches the checksum of its header.</summary>
    public static bool ChecksumMatches(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, payload);

    /// <summary>Kind of a checked payload.</summary>
    public static WalRecordKind Kind(ReadOnlySpan<byte> payload) => (WalRecordKind)payload[0];

    /// <summary>The id of an event payload without decoding the rest.</summary>
    public static Guid EventId(ReadOnlySpan<byte> payload) => new(payload.Slice(1, 16));

    /// <summary>Decodes an event payload; the body is copied. Throws <see cref="FormatException"/> when malformed.</summary>
    public static IngestEvent ReadEvent(ReadOnlySpan<byte> payload, TaskCompletionSource<bool>? delivered, out string target)
    {
        try
        {
            var at = 1;
            var id = new Guid(payload.Slice(at, 16));
            at += 16;
            var receivedAtMs = BinaryPrimitives.ReadInt64LittleEndian(payload[at..]);
            at += 8;
            target = ReadString(payload, ref at) ?? throw new FormatException("event without a target");
            var route = ReadString(payload, ref at) ?? throw new FormatException("event without a route");
            var sourceIp = ReadString(payload, ref at);
            var contentType = ReadString(payload, ref at);
            var traceParent = ReadString(payload, ref at);
            var headerCount = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]);
            at += 4;
            if (headerCount < 0 || headerCount > payload.Length)
            {
                throw new FormatException($"header count {headerCount}");
            }
            var headers = headerCount == 0 ? [] : new KeyValuePair<string, string>[headerCount];
            for (var i = 0; i < headerCount; i++)
            {
                headers[i] = new(ReadString(payload, ref at) ?? "", ReadString(payload, ref at) ?? "");
            }
            var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]);
            at += 4;
            if (bodyLength < 0 || at + bodyLength != payload.Length)
            {
                throw new FormatException($"body length {bodyLength} does not fill the record");
            }
            return new IngestEvent
            {
                Id = id,
                ReceivedAtMs = receivedAtMs,
                RouteKey = route,
                SourceIp = sourceIp,
                ContentType = contentType,
                TraceParent = traceParent,
                Headers = headers,
                Body = payload.Slice(at, bodyLength).ToArray(),
                Delivered = delivered,
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new FormatException("event record shorter than its fields", e);
        }
    }

    /// <summary>Ids of a done payload. Throws <see cref="FormatException"/> when malformed.</summary>
    public static void ReadDone(ReadOnlySpan<byte> payload, ICollection<Guid> ids)
    {
        if (payload.Length < 5)
        {
            throw new FormatException("done record too short");
        }
        var count = BinaryPrimitives.ReadInt32LittleEndian(payload[1..]);
        if (count < 0 || payload.Length != 5 + (16L * count))
        {
            throw new FormatException($"done record of {payload.Length} bytes cannot hold {count} ids");
        }
        for (var i = 0; i < count; i++)
        {
            ids.Add(new Guid(payload.Slice(5 + (16 * i), 16)));
        }
    }

    private static void WriteRecordHeader(Span<byte> record, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteInt32LittleEndian(record, payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, payload));
    }

    private static int StringLength(string? value) => 4 + (value is null ? 0 : Encoding.UTF8.GetByteCount(value));

    private static int WriteString(Span<byte> destination, string? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination, -1);
            return 4;
        }
        var written = Encoding.UTF8.GetBytes(value, destination[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(destination, written);
        return 4 + written;
    }

    private static string? ReadString(ReadOnlySpan<byte> payload, ref int at)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]);
        at += 4;
        if (length == -1)
        {
            return null;
        }
        if (length < 0 || length > payload.Length - at)
        {
            throw new FormatException($"string length {length}");
        }
        var value = Encoding.UTF8.GetString(payload.Slice(at, length));
        at += length;
        return value;
    }
}
