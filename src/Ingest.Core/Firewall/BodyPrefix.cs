using System.Buffers;
using System.IO.Compression;
using Ingest.Core.Payload;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Firewall;

/// <summary>
/// Reads the first bytes of a request body without consuming them: the pipe keeps them for the
/// payload step, which reads the body as usual afterwards.
/// </summary>
internal static class BodyPrefix
{
    /// <summary>
    /// Up to <paramref name="max"/> bytes from the start of the body, inflated when the body is gzip
    /// or deflate; a pooled array the caller returns to <see cref="ArrayPool{T}.Shared"/>.
    /// </summary>
    public static async ValueTask<(byte[] Bytes, int Length)> PeekAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        var (bytes, length) = await ReadPrefixAsync(request.BodyReader, max, cancellationToken);
        var coding = ContentCodings.Parse(request.Headers.ContentEncoding);
        if (coding is ContentCoding.Gzip or ContentCoding.Deflate && length > 0)
        {
            var inflated = Inflate(bytes, length, coding, max);
            ArrayPool<byte>.Shared.Return(bytes);
            return inflated;
        }
        return (bytes, length);
    }

    /// <summary>Waits for <paramref name="max"/> bytes or the end of the body; the buffer is rented only then, so an aborted wait leaves nothing behind.</summary>
    private static async ValueTask<(byte[] Bytes, int Length)> ReadPrefixAsync(System.IO.Pipelines.PipeReader reader, int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var enough = buffer.Length >= max || result.IsCompleted || result.IsCanceled;
            var length = 0;
            byte[]? bytes = null;
            if (enough)
            {
                length = (int)Math.Min(max, buffer.Length);
                bytes = ArrayPool<byte>.Shared.Rent(Math.Max(1, max));
                buffer.Slice(0, length).CopyTo(bytes);
            }
            // Nothing consumed. Examined must not move back (the pipe forbids it), so the next
            // reader's first read returns once more of the body, or its end, has arrived: both
            // are still to come while the body is incomplete, and an ended body returns at once.
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (bytes is not null)
            {
                return (bytes, length);
            }
        }
    }

    /// <summary>Inflates a compressed prefix up to <paramref name="max"/> bytes; what cannot be inflated (a truncated or corrupt stream) ends the text there.</summary>
    private static (byte[] Bytes, int Length) Inflate(byte[] compressed, int length, ContentCoding coding, int max)
    {
        var output = ArrayPool<byte>.Shared.Rent(Math.Max(1, max));
        var filled = 0;
        try
        {
            using var input = new MemoryStream(compressed, 0, length, writable: false);
            using Stream inflater = coding == ContentCoding.Gzip ? new GZipStream(input, CompressionMode.Decompress)
                : IsZlib(compressed, length) ? new ZLibStream(input, CompressionMode.Decompress)
                : new DeflateStream(input, CompressionMode.Decompress);
            int read;
            while (filled < max && (read = inflater.Read(output, filled, max - filled)) > 0)
            {
                filled += read;
            }
        }
        catch (InvalidDataException)
        {
            // The prefix ends mid-stream or is not compressed data: inspect what came out.
        }
        return (output, filled);
    }

    /// <summary>A zlib header (RFC 1950): deflate method, header checksum a multiple of 31.</summary>
    private static bool IsZlib(byte[] data, int length) =>
        length >= 2 && (data[0] & 0x0F) == 8 && ((data[0] << 8) | data[1]) % 31 == 0;
}
