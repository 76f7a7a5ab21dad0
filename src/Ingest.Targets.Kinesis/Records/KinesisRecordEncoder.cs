using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;

namespace Ingest.Targets.Kinesis;

/// <summary>One Kinesis record, ready to send.</summary>
/// <param name="Data">The record data: the JSON envelope, UTF-8.</param>
/// <param name="PartitionKey">1..256 characters.</param>
/// <param name="ExplicitHashKey">A decimal hash key that chooses the shard instead of the partition key's MD5; null: none.</param>
public sealed record KinesisRecord(byte[] Data, string PartitionKey, string? ExplicitHashKey = null)
{
    /// <summary>Bytes counted by Kinesis against its record and call limits: data plus UTF-8 key.</summary>
    public int WireBytes { get; } = Data.Length + Encoding.UTF8.GetByteCount(PartitionKey);

    /// <summary>The hash key that picks the record's shard (an MD5 of at most 768 bytes: well under a microsecond).</summary>
    public UInt128 HashKey { get; } = PartitionKeyHash.For(PartitionKey, ExplicitHashKey);
}

/// <summary>
/// Turns an event into a Kinesis record. Kinesis records carry no attributes, so the data is a JSON
/// envelope with the metadata consumers need:
/// <c>{"eventId","receivedAt","route","sourceIp","contentType","traceparent","headers":{},"body"}</c>.
/// A JSON body (content type <c>application/json</c> or <c>*/*+json</c>, valid UTF-8 JSON) is
/// embedded as its JSON value under <c>body</c> (whitespace around the value is dropped; the value's
/// own bytes are kept); any other body is sent byte-exact as <c>bodyBase64</c>. Null metadata is omitted.
/// </summary>
public sealed class KinesisRecordEncoder
{
    /// <summary>Longest partition key Kinesis accepts, in UTF-16 characters.</summary>
    public const int MaxPartitionKeyLength = 256;

    // The body sits one level down in the envelope; anything deeper than this would make the
    // envelope exceed System.Text.Json's default depth of 64, so such bodies go as base64.
    private const int MaxEmbeddedDepth = 63;

    // Thread-local scratch for envelopes; envelopes above this size use a one-off buffer instead
    // so request threads do not each keep a large array alive.
    private const int ScratchKeepBytes = 64 * 1024;

    private static readonly JsonEncodedText EventIdName = JsonEncodedText.Encode("eventId");
    private static readonly JsonEncodedText ReceivedAtName = JsonEncodedText.Encode("receivedAt");
    private static readonly JsonEncodedText RouteName = JsonEncodedText.Encode("route");
    private static readonly JsonEncodedText SourceIpName = JsonEncodedText.Encode("sourceIp");
    private static readonly JsonEncodedText ContentTypeName = JsonEncodedText.Encode("contentType");
    private static readonly JsonEncodedText TraceParentName = JsonEncodedText.Encode("traceparent");
    private static readonly JsonEncodedText HeadersName = JsonEncodedText.Encode("headers");
    private static readonly JsonEncodedText BodyName = JsonEncodedText.Encode("body");
    private static readonly JsonEncodedText BodyBase64Name = JsonEncodedText.Encode("bodyBase64");

    // Relaxed escaping: the envelope is never embedded in HTML, and non-ASCII text stays compact.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly string? _headerName;
    private readonly byte[]? _jsonField;

    /// <param name="partitionKeySource">
    /// <c>header:NAME</c>, <c>json:FIELD</c> or <c>random</c>. Default (null): <c>random</c>, which
    /// uses the event id so a retried record keeps its key.
    /// </param>
    public KinesisRecordEncoder(string? partitionKeySource)
    {
        var source = string.IsNullOrEmpty(partitionKeySource) ? "random" : partitionKeySource;
        if (!EventKeySource.IsValid(source, allowRandom: true))
        {
            throw new ArgumentException($"'{source}' is not a partition key source. Use header:NAME, json:FIELD or random.", nameof(partitionKeySource));
        }
        PartitionKeySource = source;
        _headerName = EventKeySource.HeaderName(source);
        _jsonField = EventKeySource.JsonField(source) is { } field ? Encoding.UTF8.GetBytes(field) : null;
    }

    /// <summary>The partition key source in use.</summary>
    public string PartitionKeySource { get; }

    /// <summary>Builds the record (envelope and partition key) for <paramref name="e"/>.</summary>
    public KinesisRecord Encode(IngestEvent e)
    {
        var embedBody = Inspect(e, out var fieldValue);
        BuildEnvelope(e, embedBody, keep: true, out var data);
        return new KinesisRecord(data!, SelectKey(e, fieldValue));
    }

    /// <summary>
    /// <see cref="KinesisRecord.WireBytes"/> of the record <see cref="Encode"/> would build, without
    /// keeping it: the envelope is written to a per-thread scratch buffer and only counted, so a
    /// queued event does not hold a second copy of its body.
    /// </summary>
    public int MeasureWireBytes(IngestEvent e)
    {
        var embedBody = Inspect(e, out var fieldValue);
        var envelope = BuildEnvelope(e, embedBody, keep: false, out _);
        return envelope + KeyByteCount(e, fieldValue);
    }

    /// <summary>True when the body is embedded as JSON; captures the partition key's JSON field.</summary>
    private bool Inspect(IngestEvent e, out string? fieldValue)
    {
        fieldValue = null;
        var jsonType = IsJsonContentType(e.ContentType);
        var validJson = (jsonType || _jsonField is not null) && ScanJson(e.Body.Span, _jsonField, out fieldValue);
        return jsonType && validJson;
    }

    /// <summary>True for <c>application/json</c> and <c>type/subtype+json</c>, parameters ignored.</summary>
    public static bool IsJsonContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }
        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        if (semicolon >= 0)
        {
            span = span[..semicolon];
        }
        span = span.Trim();
        return span.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (span.EndsWith("+json", StringComparison.OrdinalIgnoreCase) && span.IndexOf('/') > 0);
    }

    private string SelectKey(IngestEvent e, string? jsonFieldValue)
    {
        var key = ConfiguredKey(e, jsonFieldValue);
        if (string.IsNullOrEmpty(key))
        {
            // Missing source, or random: the event id is unique and stable across retries.
            return e.Id.ToString("D", CultureInfo.InvariantCulture);
        }
        return key.Length > MaxPartitionKeyLength ? key[..KeyLength(key)] : key;
    }

    /// <summary>UTF-8 bytes of <see cref="SelectKey"/>'s key, without building it.</summary>
    private int KeyByteCount(IngestEvent e, string? jsonFieldValue)
    {
        var key = ConfiguredKey(e, jsonFieldValue);
        // An event id in "D" format is 36 ASCII characters.
        return string.IsNullOrEmpty(key) ? 36 : Encoding.UTF8.GetByteCount(key.AsSpan(0, KeyLength(key)));
    }

    private string? ConfiguredKey(IngestEvent e, string? jsonFieldValue) =>
        _headerName is not null ? e.Header(_headerName)
        : _jsonField is not null ? jsonFieldValue
        : null;

    // Do not cut a surrogate pair in half: Kinesis would reject the invalid UTF-16.
    private static int KeyLength(string key) =>
        key.Length <= MaxPartitionKeyLength ? key.Length
        : char.IsHighSurrogate(key[MaxPartitionKeyLength - 1]) ? MaxPartitionKeyLength - 1
        : MaxPartitionKeyLength;

    /// <summary>
    /// One pass over the body: true when it is a single valid UTF-8 JSON value; captures the
    /// top-level <paramref name="field"/> when it is a string or number.
    /// </summary>
    private static bool ScanJson(ReadOnlySpan<byte> body, byte[]? field, out string? fieldValue)
    {
        fieldValue = null;
        // The reader does not check UTF-8 inside strings; the envelope must be valid UTF-8.
        if (body.IsEmpty || !Utf8.IsValid(body))
        {
            return false;
        }
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxEmbeddedDepth });
        string? found = null;
        var atField = false;
        try
        {
            while (reader.Read())
            {
                if (field is null || found is not null)
                {
                    continue;
                }
                if (atField)
                {
                    atField = false;
                    found = reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString(),
                        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                        _ => null,
                    };
                }
                else if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals(field))
                {
                    atField = true;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }
        fieldValue = found;
        return true;
    }

    /// <summary>Writes the envelope; returns its length, and a copy in <paramref name="data"/> when <paramref name="keep"/>.</summary>
    private static int BuildEnvelope(IngestEvent e, bool embedBody, bool keep, out byte[]? data)
    {
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(4096);
        scratch.ResetWrittenCount();
        var writer = t_writer;
        if (writer is null)
        {
            writer = t_writer = new Utf8JsonWriter(scratch, WriterOptions);
        }
        else
        {
            writer.Reset(scratch);
        }
        try
        {
            WriteEnvelope(writer, e, embedBody);
            writer.Flush();
            data = keep ? scratch.WrittenSpan.ToArray() : null;
            return scratch.WrittenCount;
        }
        catch
        {
            // A half-written envelope leaves the writer mid-object: start over next time.
            t_writer = null;
            throw;
        }
        finally
        {
            if (scratch.Capacity > ScratchKeepBytes)
            {
                t_scratch = null;
                t_writer = null;
            }
        }
    }

    private static void WriteEnvelope(Utf8JsonWriter writer, IngestEvent e, bool embedBody)
    {
        writer.WriteStartObject();
        writer.WriteString(EventIdName, e.Id);
        Span<char> time = stackalloc char[24];
        DateTimeOffset.FromUnixTimeMilliseconds(e.ReceivedAtMs).UtcDateTime
            .TryFormat(time, out var written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        writer.WriteString(ReceivedAtName, time[..written]);
        writer.WriteString(RouteName, e.RouteKey);
        if (e.SourceIp is { } sourceIp)
        {
            writer.WriteString(SourceIpName, sourceIp);
        }
        if (e.ContentType is { } contentType)
        {
            writer.WriteString(ContentTypeName, contentType);
        }
        if (e.TraceParent is { } traceParent)
        {
            writer.WriteString(TraceParentName, traceParent);
        }
        writer.WriteStartObject(HeadersName);
        foreach (var (name, value) in e.Headers)
        {
            writer.WriteString(name, value);
        }
        writer.WriteEndObject();
        if (embedBody)
        {
            writer.WritePropertyName(BodyName);
            // Validated by ScanJson already; copying the bytes keeps numbers and escapes as sent.
            writer.WriteRawValue(TrimJsonWhitespace(e.Body.Span), skipInputValidation: true);
        }
        else
        {
            writer.WriteBase64String(BodyBase64Name, e.Body.Span);
        }
        writer.WriteEndObject();
    }

    private static ReadOnlySpan<byte> TrimJsonWhitespace(ReadOnlySpan<byte> json)
    {
        ReadOnlySpan<byte> whitespace = " \t\r\n"u8;
        var start = json.IndexOfAnyExcept(whitespace);
        var end = json.LastIndexOfAnyExcept(whitespace);
        return start < 0 ? [] : json[start..(end + 1)];
    }
}
