using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Payload;

/// <summary>One item of a split request that was refused, reported in the 202 body.</summary>
/// <param name="Index">Position in the request, from 0.</param>
/// <param name="Message">Why, e.g. <c>Invalid request body: $.temp</c>.</param>
public readonly record struct ItemRejection(int Index, string Message);

/// <summary>How a request body becomes events.</summary>
public enum SplitMode : byte
{
    /// <summary>The body is one event.</summary>
    None,

    /// <summary>One event per non-blank line.</summary>
    Ndjson,

    /// <summary>The body is a JSON array; each element (its exact bytes) is one event.</summary>
    Array,
}

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
/// streamed bodies counted and cut, content-type and content-encoding allow-lists, decoding
/// (inflating with a cap, JSON validity and schema, splitting) into events.
/// </summary>
public sealed class PayloadPolicy
{
    /// <summary>Prefix of <see cref="Rejection.InvalidBody"/> messages, for split items.</summary>
    private const string InvalidBodyMessage = "Invalid request body: ";

    private static readonly Rejection EmptySplit = Rejection.InvalidBody("$").WithReason("split: no events in the body");

    private readonly string[] _contentTypes;
    private readonly JsonSchema? _schema;
    private readonly bool _checkJson;
    private readonly Rejection _tooManyItems;

    private PayloadPolicy(long maxBodyBytes, long maxInflatedBytes, string[] contentTypes, SplitMode split, bool checkJson, JsonSchema? schema, int maxItems)
    {
        MaxBodyBytes = maxBodyBytes;
        MaxInflatedBytes = maxInflatedBytes;
        _contentTypes = contentTypes;
        Split = split;
        _checkJson = checkJson || schema is not null || split != SplitMode.None;
        _schema = schema;
        MaxItems = maxItems;
        _tooManyItems = Rejection.RequestEntityTooLarge.WithReason($"split: more than {maxItems} events in one request (maxItems)");
    }

    /// <summary>Largest body on the wire (compressed when sent compressed).</summary>
    public long MaxBodyBytes { get; }

    /// <summary>Largest body once its Content-Encoding is undone.</summary>
    public long MaxInflatedBytes { get; }

    public SplitMode Split { get; }

    /// <summary>Most events of one split request.</summary>
    public int MaxItems { get; }

    public static PayloadPolicy Compile(IngestConfig config, RouteOptions route)
    {
        var maxBody = route.MaxBodyBytes ?? config.Defaults.MaxBodyBytes;
        JsonSchema? schema = null;
        if (route.Schema is { } source)
        {
            var errors = new List<string>();
            schema = JsonSchema.Load(source, errors)
                ?? throw new ConfigException(errors.Select(e => $"{route.Route}.schema: {e}").ToList());
        }
        return new PayloadPolicy(
            maxBody,
            route.MaxInflatedBytes ?? config.Defaults.MaxInflatedBytes ?? maxBody,
            (route.ContentTypes ?? config.Defaults.ContentTypes).Select(c => c.Trim().ToLowerInvariant()).ToArray(),
            ParseSplit(route.Split),
            route.Validate == "json",
            schema,
            route.MaxItems ?? config.Defaults.MaxItems);
    }

    internal static SplitMode ParseSplit(string split) => split switch
    {
        "ndjson" => SplitMode.Ndjson,
        "array" => SplitMode.Array,
        _ => SplitMode.None,
    };

    /// <summary>Checks that need no body: declared length, content type, content encoding.</summary>
    public Rejection? CheckHeaders(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return Rejection.RequestEntityTooLarge;
        }
        if (!AllowsContentType(request.ContentType))
        {
            return Rejection.UnsupportedMediaType;
        }
        return ContentCodings.Parse(request.Headers.ContentEncoding) == ContentCoding.Unsupported
            ? Rejection.UnsupportedMediaType
            : null;
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

    /// <summary>
    /// Turns the body into events: undoes Content-Encoding (413 past <see cref="MaxInflatedBytes"/>,
    /// 400 <c>Invalid request body: gzip</c> when corrupt or truncated), checks JSON and the schema
    /// (400 <c>Invalid request body: $.path</c>), splits. Split items are checked one by one: bad ones
    /// are listed in <see cref="DecodedPayload.Rejected"/>, and only a request with no good item at
    /// all is refused as a whole (400 with the first item's message).
    /// </summary>
    public DecodedPayload Decode(RequestContext context) =>
        Decode(context.Body, context.Http.Request.Headers.ContentEncoding);

    /// <summary>As <see cref="Decode(RequestContext)"/>, for a body and its Content-Encoding header.</summary>
    public DecodedPayload Decode(ReadOnlyMemory<byte> body, StringValues contentEncoding)
    {
        var coding = ContentCodings.Parse(contentEncoding);
        if (coding != ContentCoding.Identity)
        {
            var inflated = BodyInflater.Inflate(body, coding, MaxInflatedBytes);
            switch (inflated.Status)
            {
                case InflateStatus.TooLarge:
                    return new DecodedPayload { Rejection = Rejection.RequestEntityTooLarge.WithReason(inflated.Reason!) };
                case InflateStatus.Invalid:
                    return new DecodedPayload { Rejection = Rejection.InvalidBody(ContentCodings.Name(coding)).WithReason(inflated.Reason!) };
            }
            body = inflated.Body;
        }
        return Split switch
        {
            SplitMode.Ndjson => SplitNdjson(body),
            SplitMode.Array => SplitArray(body),
            _ => DecodeSingle(body),
        };
    }

    /// <summary>The whole-request answer when no item of a split request could be taken.</summary>
    public static Rejection AllItemsRefused(IReadOnlyList<ItemRejection> rejected)
    {
        if (rejected.Count == 0)
        {
            return EmptySplit;
        }
        var first = rejected[0].Message;
        return first == Rejection.RequestEntityTooLarge.Message ? Rejection.RequestEntityTooLarge
            : first == Rejection.ServiceUnavailable.Message ? Rejection.ServiceUnavailable
            : new Rejection(StatusCodes.Status400BadRequest, first);
    }

    private DecodedPayload DecodeSingle(ReadOnlyMemory<byte> body)
    {
        if (_checkJson && Check(body) is { } error)
        {
            return new DecodedPayload { Rejection = Rejection.InvalidBody(error.Path).WithReason(error.Reason) };
        }
        return new DecodedPayload { Single = body };
    }

    private DecodedPayload SplitNdjson(ReadOnlyMemory<byte> body)
    {
        var items = new List<ReadOnlyMemory<byte>>();
        List<ItemRejection>? rejected = null;
        var span = body.Span;
        var index = 0;
        var position = 0;
        while (position < span.Length)
        {
            var newline = span[position..].IndexOf((byte)'\n');
            var end = newline < 0 ? span.Length : position + newline;
            var line = body[position..end];
            position = end + 1;
            if (line.Span.IndexOfAnyExcept(" \t\r"u8) < 0)
            {
                // Blank lines (and the final newline) are not events.
                continue;
            }
            if (line.Span[^1] == (byte)'\r')
            {
                line = line[..^1];
            }
            if (index == MaxItems)
            {
                return new DecodedPayload { Rejection = _tooManyItems };
            }
            if (Check(line) is { } error)
            {
                (rejected ??= []).Add(new ItemRejection(index, InvalidBodyMessage + error.Path));
            }
            else
            {
                items.Add(line);
            }
            index++;
        }
        return Result(items, rejected);
    }

    private DecodedPayload SplitArray(ReadOnlyMemory<byte> body)
    {
        var ranges = new List<Range>();
        if (JsonScanner.SplitArray(body.Span, ranges, MaxItems, out var tooMany) is { } error)
        {
            return new DecodedPayload { Rejection = Rejection.InvalidBody(error.Path).WithReason(error.Reason) };
        }
        if (tooMany)
        {
            return new DecodedPayload { Rejection = _tooManyItems };
        }
        var items = new List<ReadOnlyMemory<byte>>(ranges.Count);
        List<ItemRejection>? rejected = null;
        for (var i = 0; i < ranges.Count; i++)
        {
            // Syntax is already checked for the whole array; each element is checked against the schema.
            var item = body[ranges[i]];
            if (_schema is not null && CheckSchema(item) is { } itemError)
            {
                (rejected ??= []).Add(new ItemRejection(i, InvalidBodyMessage + itemError.Path));
            }
            else
            {
                items.Add(item);
            }
        }
        return Result(items, rejected);
    }

    private static DecodedPayload Result(List<ReadOnlyMemory<byte>> items, List<ItemRejection>? rejected)
    {
        if (items.Count == 0)
        {
            return new DecodedPayload { Rejection = AllItemsRefused(rejected ?? []) };
        }
        return new DecodedPayload { Items = items, Rejected = rejected };
    }

    /// <summary>JSON syntax (with the depth limit), then the schema when the route has one.</summary>
    private JsonError? Check(ReadOnlyMemory<byte> json) =>
        JsonScanner.Validate(json.Span) ?? (_schema is null ? null : CheckSchema(json));

    private JsonError? CheckSchema(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = JsonScanner.MaxDepth + 1 });
        return _schema!.Validate(document.RootElement);
    }

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
