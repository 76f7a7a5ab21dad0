using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Ingest.Core.Payload;

/// <summary>Outcome of undoing a Content-Encoding.</summary>
public enum InflateStatus : byte
{
    Ok,

    /// <summary>The inflated body passed the cap; inflating stopped there.</summary>
    TooLarge,

    /// <summary>Corrupt or truncated compressed data.</summary>
    Invalid,
}

/// <param name="Status">What happened.</param>
/// <param name="Body">The inflated body when <see cref="InflateStatus.Ok"/>.</param>
/// <param name="InflatedBytes">Bytes produced before stopping (at most cap + 1).</param>
/// <param name="Reason">Why not Ok, for the access log.</param>
public readonly record struct InflateResult(InflateStatus Status, byte[]? Body, long InflatedBytes, string? Reason);

/// <summary>
/// Undoes gzip and deflate with a hard cap: the decoder writes into a buffer that never grows
/// past cap + 1 bytes, so a decompression bomb costs at most that much memory and work before the
/// 413 (deflate's window is 32 KiB, so the decoder holds no more than that besides). Truncated and
/// corrupt input is detected (gzip: CRC-32 and length of every member; deflate: the stream must
/// reach its final block, and zlib's Adler-32 must match).
/// </summary>
public static class BodyInflater
{
    public static InflateResult Inflate(ReadOnlyMemory<byte> input, ContentCoding coding, long cap)
    {
        var output = new BoundedBuffer(cap, input.Length);
        try
        {
            var (status, reason) = coding switch
            {
                ContentCoding.Gzip => InflateGzip(input, output),
                ContentCoding.Deflate => InflateDeflate(input, output),
                _ => (InflateStatus.Invalid, "unsupported content coding"),
            };
            if (status == InflateStatus.TooLarge)
            {
                reason = $"{ContentCodings.Name(coding)} body inflates past {cap} bytes (stopped after {output.Written})";
            }
            return new InflateResult(status, status == InflateStatus.Ok ? output.ToArray() : null, output.Written, reason);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // zlib reports some corrupt streams as ZLibException (an IOException), not InvalidDataException (found by fuzzing).
            return new InflateResult(InflateStatus.Invalid, null, output.Written, $"corrupt {ContentCodings.Name(coding)} data: {e.Message}");
        }
        finally
        {
            output.Dispose();
        }
    }

    private static (InflateStatus, string?) InflateGzip(ReadOnlyMemory<byte> input, BoundedBuffer output)
    {
        var data = input.Span;
        var offset = 0;
        Span<byte> trailer = stackalloc byte[8];
        while (true)
        {
            var header = GzipHeaderLength(data[offset..]);
            if (header < 0)
            {
                return (InflateStatus.Invalid, offset == 0 ? "not gzip data (bad header)" : "bad gzip member header");
            }
            var deflateStart = offset + header;
            var memberStart = output.Written;
            var (status, reason) = InflateStream(input[deflateStart..], source => new DeflateStream(source, CompressionMode.Decompress), output);
            if (status != InflateStatus.Ok)
            {
                return (status, reason);
            }
            // Trailer: CRC-32 and length of the member's data, little endian. The deflate data
            // ends right before it; its first occurrence is where the member ends.
            var member = output.WrittenSpan[(int)memberStart..];
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, Crc32.HashToUInt32(member));
            BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], (uint)member.Length);
            var at = data[deflateStart..].IndexOf(trailer);
            if (at < 0)
            {
                return (InflateStatus.Invalid, "gzip checksum or length mismatch (truncated or corrupt)");
            }
            offset = deflateStart + at + 8;
            if (offset == data.Length || data[offset..].IndexOfAnyExcept((byte)0) < 0)
            {
                // The end, possibly zero padding. The trailer search above can match a copy of the
                // expected trailer past a member whose own trailer is wrong, so the members are read
                // once more by GZipStream, which checks each trailer where it is (found by fuzzing).
                return SameAsGZipStream(input[..offset], output.WrittenSpan)
                    ? (InflateStatus.Ok, null)
                    : (InflateStatus.Invalid, "gzip checksum or length mismatch (corrupt member)");
            }
        }
    }

    private static (InflateStatus, string?) InflateDeflate(ReadOnlyMemory<byte> input, BoundedBuffer output)
    {
        var span = input.Span;
        // HTTP's "deflate" is the zlib format; some clients send raw deflate. The zlib header is
        // CM=8 and a header checksum divisible by 31.
        var zlib = span.Length >= 2 && (span[0] & 0x0F) == 8 && (span[0] >> 4) <= 7 && ((span[0] << 8) | span[1]) % 31 == 0;
        return zlib
            ? InflateStream(input, source => new ZLibStream(source, CompressionMode.Decompress), output)
            : InflateStream(input, source => new DeflateStream(source, CompressionMode.Decompress), output);
    }

    private static (InflateStatus, string?) InflateStream(ReadOnlyMemory<byte> input, Func<Stream, Stream> decoderOf, BoundedBuffer output)
    {
        var source = new EndAwareStream(input);
        using var decoder = decoderOf(source);
        while (true)
        {
            var span = output.GetSpan();
            if (span.IsEmpty)
            {
                return (InflateStatus.TooLarge, null);
            }
            var read = decoder.Read(span);
            if (read == 0)
            {
                break;
            }
            output.Advance(read);
        }
        // A complete stream stops at its final block without asking for more input; a truncated
        // one runs into the end of the input (the decoder itself does not report that).
        return source.ReachedEnd ? (InflateStatus.Invalid, "truncated compressed data") : (InflateStatus.Ok, null);
    }

    /// <summary>Length of the gzip member header at the start of <paramref name="data"/>, or -1.</summary>
    private static int GzipHeaderLength(ReadOnlySpan<byte> data)
    {
        const byte FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16, Reserved = 0xE0;
        if (data.Length < 10 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 || (data[3] & Reserved) != 0)
        {
            return -1;
        }
        var flags = data[3];
        var at = 10;
        if ((flags & FEXTRA) != 0)
        {
            if (data.Length < at + 2)
            {
                return -1;
            }
            at += 2 + BinaryPrimitives.ReadUInt16LittleEndian(data[at..]);
        }
        foreach (var flag in (ReadOnlySpan<byte>)[FNAME, FCOMMENT])
        {
            if ((flags & flag) != 0)
            {
                var end = at < data.Length ? data[at..].IndexOf((byte)0) : -1;
                if (end < 0)
                {
                    return -1;
                }
                at += end + 1;
            }
        }
        if ((flags & FHCRC) != 0)
        {
            at += 2;
        }
        return at <= data.Length ? at : -1;
    }

    /// <summary>True when GZipStream reads <paramref name="members"/> without error into exactly <paramref name="inflated"/>.</summary>
    private static bool SameAsGZipStream(ReadOnlyMemory<byte> members, ReadOnlySpan<byte> inflated)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var gzip = new GZipStream(new EndAwareStream(members), CompressionMode.Decompress);
            var compared = 0;
            while (true)
            {
                var read = gzip.Read(buffer);
                if (read == 0)
                {
                    return compared == inflated.Length;
                }
                if (compared + read > inflated.Length || !buffer.AsSpan(0, read).SequenceEqual(inflated.Slice(compared, read)))
                {
                    return false;
                }
                compared += read;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Read-only stream over memory that notes whether a reader ran into its end.</summary>
    private sealed class EndAwareStream(ReadOnlyMemory<byte> data) : Stream
    {
        private int _position;

        public bool ReachedEnd { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => data.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, data.Length - _position);
            if (count == 0 && buffer.Length > 0)
            {
                ReachedEnd = true;
            }
            data.Span.Slice(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A pooled buffer that grows by doubling and never past cap + 1 bytes.</summary>
    private sealed class BoundedBuffer : IDisposable
    {
        private readonly int _limit;
        private byte[] _buffer;
        private int _written;

        public BoundedBuffer(long cap, int inputLength)
        {
            _limit = (int)Math.Min(cap + 1, Array.MaxLength);
            _buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(inputLength * 4L, 4096), _limit));
        }

        public long Written => _written;

        public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

        /// <summary>Free space; empty once cap + 1 bytes are written.</summary>
        public Span<byte> GetSpan()
        {
            var end = Math.Min(_buffer.Length, _limit);
            if (_written == end && end < _limit)
            {
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_buffer.Length * 2, _limit));
                _buffer.AsSpan(0, _written).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
                end = Math.Min(_buffer.Length, _limit);
            }
            return _buffer.AsSpan(_written, end - _written);
        }

        public void Advance(int count) => _written += count;

        public byte[] ToArray() => _buffer.AsSpan(0, _written).ToArray();

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
