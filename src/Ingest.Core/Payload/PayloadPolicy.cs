using System.Buffers;
using System.IO.Pipelines;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.Core.Payload;

/// <summary>One item of a split request that was refused, reported in the 202 body.</summary>
/// <param name="Index">Position in the request, from 0.</param>
/// <param name="Message">Why, e.g. <c>Invalid request body: $.temp</c>.</param>
public readonly record struct ItemRejection(int Index, string Message);

/// <summary>The events a request body turns into.</summary>
public struct DecodedPayload
{
    /// <summary>The single event of a request without split.</summary>
    public ReadOnlyMemory<byte> Single { get; set; }

    /// <summary>The events of a split request; null without split.</summary>
    public List<ReadOnlyMemory<byte>>? Items { get; set; }

    /// <summary>Items refused on their own (split only).</summary>
    public List<ItemRejection>? Rejected { get; set; }

    /// <summary>Set when the whole request is refused.</summary>
    public Rejection? Rejection { get; set; }

    public readonly int Count => Items?.Count ?? (Rejection is null ? 1 : 0);
}

/// <summary>
/// Size, content type and body checks of a route: declared length refused before reading,
/// streamed bodies counted and cut, content-type allow-list, decoding (compression, JSON
/// checks, splitting) into events.
/// </summary>
public sealed class PayloadPolicy
{
    private readonly string[] _contentTypes;

    private PayloadPolicy(long maxBodyBytes, string[] contentTypes)
    {
        MaxBodyBytes = maxBodyBytes;
        _contentTypes = contentTypes;
    }

    /// <summary>Largest body accepted (after decompression too).</summary>
    public long MaxBodyBytes { get; }

    public static PayloadPolicy Compile(IngestConfig config, RouteOptions route) => new(
        route.MaxBodyBytes ?? config.Defaults.MaxBodyBytes,
        (route.ContentTypes ?? config.Defaults.ContentTypes).Select(c => c.Trim().ToLowerInvariant()).ToArray());

    /// <summary>Checks that need no body: declared length and content type.</summary>
    public Rejection? CheckHeaders(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return Rejection.RequestEntityTooLarge;
        }
        return AllowsContentType(request.ContentType) ? null : Rejection.UnsupportedMediaType;
    }

    /// <summary>True when <paramref name="contentType"/>'s media type is allowed.</summary>
    public bool AllowsContentType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }
        var media = contentType.AsSpan();
        var semicolon = media.IndexOf(';');
        if (semicolon >= 0)
        {
            media = media[..semicolon];
        }
        media = media.Trim();
        foreach (var allowed in _contentTypes)
        {
            if (allowed == "*/*" || media.Equals(allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Turns the body into events.</summary>
    public DecodedPayload Decode(RequestContext context) => new() { Single = context.Body };

    /// <summary>Reads the whole body, or returns null once it passes <paramref name="limit"/> (chunked bodies are counted while streamed).</summary>
    public static async ValueTask<byte[]?> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            // Kestrel enforces the same limit underneath us.
            sizeFeature.MaxRequestBodySize = limit + 1;
        }
        var reader = request.BodyReader;
        if (request.ContentLength is { } declared)
        {
            if (declared > limit)
            {
                return null;
            }
            var exact = new byte[declared];
            var filled = 0;
            while (filled < declared)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                if (filled + buffer.Length > declared)
                {
                    reader.AdvanceTo(buffer.End);
                    return null;
                }
                buffer.CopyTo(exact.AsSpan(filled));
                filled += (int)buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    // Kestrel reports a body shorter than Content-Length as BadHttpRequestException.
                    break;
                }
            }
            return exact;
        }
        return await ReadChunkedAsync(reader, limit, cancellationToken);
    }

    private static async ValueTask<byte[]?> ReadChunkedAsync(PipeReader reader, long limit, CancellationToken cancellationToken)
    {
        var writer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (writer.WrittenCount + buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }
            foreach (var segment in buffer)
            {
                writer.Write(segment.Span);
            }
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return writer.WrittenSpan.ToArray();
            }
        }
    }
}
