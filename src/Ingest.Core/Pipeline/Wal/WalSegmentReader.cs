namespace Ingest.Core.Pipeline.Wal;

/// <summary>
/// Reads one segment record by record. Stops at the first record that is cut off, has an
/// impossible length or fails its checksum (a torn write at a crash, or damage): everything after
/// it in this segment is unreadable, and <see cref="Problem"/> says why.
/// </summary>
internal sealed class WalSegmentReader(Stream stream) : IDisposable
{
    private readonly byte[] _header = new byte[WalCodec.SegmentHeaderBytes];
    private byte[] _payload = new byte[64 * 1024];
    private long _offset;

    /// <summary>Why reading stopped before the end of the file; null when it did not.</summary>
    public string? Problem { get; private set; }

    /// <summary>Byte offset of the first unreadable record.</summary>
    public long ProblemOffset { get; private set; }

    /// <summary>Reads the segment header; false (with <see cref="Problem"/>) when it is missing or wrong.</summary>
    public bool TryReadHeader(out long sequence)
    {
        sequence = 0;
        var read = stream.ReadAtLeast(_header, WalCodec.SegmentHeaderBytes, throwOnEndOfStream: false);
        if (read < WalCodec.SegmentHeaderBytes || WalCodec.ReadSegmentHeader(_header) is not { } found)
        {
            Fail(0, read == 0 ? "empty segment" : "not a segment header");
            return false;
        }
        sequence = found;
        _offset = WalCodec.SegmentHeaderBytes;
        return true;
    }

    /// <summary>The next sound payload; false at the end of the segment or at the first bad record.</summary>
    public bool TryRead(out ReadOnlyMemory<byte> payload)
    {
        payload = default;
        if (Problem is not null)
        {
            return false;
        }
        var read = stream.ReadAtLeast(_header.AsMemory(0, WalCodec.RecordHeaderBytes).Span, WalCodec.RecordHeaderBytes, throwOnEndOfStream: false);
        if (read == 0)
        {
            return false;
        }
        if (read < WalCodec.RecordHeaderBytes)
        {
            return Fail(_offset, $"record header cut off after {read} bytes");
        }
        var header = _header.AsSpan(0, WalCodec.RecordHeaderBytes);
        var remaining = stream.CanSeek ? stream.Length - stream.Position : WalCodec.MaxPayloadBytes;
        if (WalCodec.CheckHeader(header, remaining, out var length) is { } bad)
        {
            return Fail(_offset, bad);
        }
        if (_payload.Length < length)
        {
            _payload = new byte[Math.Max(length, _payload.Length * 2)];
        }
        read = stream.ReadAtLeast(_payload.AsSpan(0, length), length, throwOnEndOfStream: false);
        if (read < length)
        {
            return Fail(_offset, $"record of {length} bytes cut off after {read}");
        }
        var body = _payload.AsSpan(0, length);
        if (!WalCodec.ChecksumMatches(header, body))
        {
            return Fail(_offset, "checksum mismatch");
        }
        if (!Enum.IsDefined(WalCodec.Kind(body)))
        {
            return Fail(_offset, $"unknown record kind {body[0]}");
        }
        RecordOffset = _offset;
        _offset += WalCodec.RecordHeaderBytes + length;
        payload = _payload.AsMemory(0, length);
        return true;
    }

    /// <summary>Marks the rest of the segment unreadable (also used when a sound record does not decode).</summary>
    public bool Fail(long offset, string problem)
    {
        Problem ??= problem;
        ProblemOffset = offset;
        return false;
    }

    /// <summary>Byte offset of the record <see cref="TryRead"/> returned last.</summary>
    public long RecordOffset { get; private set; }

    public void Dispose() => stream.Dispose();
}
