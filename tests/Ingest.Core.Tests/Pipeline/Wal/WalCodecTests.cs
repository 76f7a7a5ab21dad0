using System.Buffers;
using Ingest.Core.Events;
using Ingest.Core.Pipeline.Wal;

namespace Ingest.Core.Tests.Pipeline.Wal;

public class WalCodecTests
{
    [Fact]
    public void An_event_record_round_trips_every_envelope_field_and_its_length_is_known_before_writing()
    {
        var e = new IngestEvent
        {
            Id = Guid.CreateVersion7(),
            ReceivedAtMs = 1_764_100_000_123,
            RouteKey = "POST /v1/caf\u00e9",
            SourceIp = "2001:db8::1",
            ContentType = "application/octet-stream",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            Headers = [new("x-device", "d-42 \u2603"), new("x-empty", "")],
            Body = new byte[] { 0, 255, 10, 13, 0x80, 0xC3 },
        };
        var buffer = new ArrayBufferWriter<byte>();
        var length = WalCodec.EventRecordLength(e, "events-queue");

        WalCodec.WriteEvent(buffer, e, "events-queue", length);

        Assert.Equal(length, buffer.WrittenCount);
        var header = buffer.WrittenSpan[..WalCodec.RecordHeaderBytes];
        var payload = buffer.WrittenSpan[WalCodec.RecordHeaderBytes..];
        Assert.Null(WalCodec.CheckHeader(header, payload.Length, out var payloadLength));
        Assert.Equal(payload.Length, payloadLength);
        Assert.True(WalCodec.ChecksumMatches(header, payload));
        Assert.Equal(e.Id, WalCodec.EventId(payload));

        var delivered = new TaskCompletionSource<bool>();
        var back = WalCodec.ReadEvent(payload, delivered, out var target);
        Assert.Equal("events-queue", target);
        Assert.Equal(e.Id, back.Id);
        Assert.Equal(e.ReceivedAtMs, back.ReceivedAtMs);
        Assert.Equal(e.RouteKey, back.RouteKey);
        Assert.Equal(e.SourceIp, back.SourceIp);
        Assert.Equal(e.ContentType, back.ContentType);
        Assert.Equal(e.TraceParent, back.TraceParent);
        Assert.Equal(e.Headers, back.Headers);
        Assert.Equal(e.Body.ToArray(), back.Body.ToArray());
        Assert.Same(delivered, back.Delivered);
    }

    [Fact]
    public void Null_fields_and_an_empty_body_round_trip_as_null_and_empty()
    {
        var e = new IngestEvent { Id = Guid.NewGuid(), ReceivedAtMs = 0, RouteKey = "POST /e", Body = ReadOnlyMemory<byte>.Empty };
        var buffer = new ArrayBufferWriter<byte>();
        WalCodec.WriteEvent(buffer, e, "t", WalCodec.EventRecordLength(e, "t"));

        var back = WalCodec.ReadEvent(buffer.WrittenSpan[WalCodec.RecordHeaderBytes..], null, out _);

        Assert.Null(back.SourceIp);
        Assert.Null(back.ContentType);
        Assert.Null(back.TraceParent);
        Assert.Empty(back.Headers);
        Assert.Equal(0, back.Body.Length);
    }

    [Fact]
    public void A_flipped_byte_fails_the_checksum_and_a_done_record_round_trips_its_ids()
    {
        var ids = new[] { Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid() };
        var buffer = new ArrayBufferWriter<byte>();
        WalCodec.WriteDone(buffer, ids);
        var bytes = buffer.WrittenSpan.ToArray();
        Assert.Equal(WalCodec.DoneRecordLength(3), bytes.Length);

        var read = new List<Guid>();
        WalCodec.ReadDone(bytes.AsSpan(WalCodec.RecordHeaderBytes), read);
        Assert.Equal(ids, read);

        bytes[^5] ^= 0x01;
        Assert.False(WalCodec.ChecksumMatches(bytes.AsSpan(0, WalCodec.RecordHeaderBytes), bytes.AsSpan(WalCodec.RecordHeaderBytes)));
    }

    [Fact]
    public void A_length_beyond_the_file_or_impossible_is_reported_not_believed()
    {
        Span<byte> header = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header, 5000);
        Assert.Contains("cut off", WalCodec.CheckHeader(header, 100, out _));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header, -3);
        Assert.Contains("impossible", WalCodec.CheckHeader(header, 100, out _));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header, 0);
        Assert.Contains("impossible", WalCodec.CheckHeader(header, 100, out _));
    }
}
