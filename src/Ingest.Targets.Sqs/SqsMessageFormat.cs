using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Core.Events;

namespace Ingest.Targets.Sqs;

/// <summary>How an event body travels in an SQS message body.</summary>
internal enum SqsBodyEncoding : byte
{
    /// <summary>UTF-8 text that is XML-legal: sent as is, byte for byte.</summary>
    Text,

    /// <summary>Anything else: base64, with <c>ingest-encoding: base64</c>.</summary>
    Base64,

    /// <summary>An empty body: SQS needs at least one character, so <c>-</c> with <c>ingest-encoding: empty</c>.</summary>
    Empty,
}

/// <summary>
/// The SQS message an event becomes: body encoding, message attributes (at most 10, all
/// <c>String</c>), the size SQS counts for it, and the FIFO group id. Sizing and writing walk the
/// same attribute list (<see cref="VisitAttributes{TVisitor}"/>) so the counted size is the sent size.
/// </summary>
internal static class SqsMessageFormat
{
    public const int MaxAttributes = 10;
    public const string EventIdAttribute = "ingest-event-id";
    public const string RouteAttribute = "ingest-route";
    public const string ReceivedAtAttribute = "ingest-received-at";
    public const string ContentTypeAttribute = "content-type";
    public const string SourceIpAttribute = "ingest-source-ip";
    public const string TraceParentAttribute = "traceparent";
    public const string EncodingAttribute = "ingest-encoding";
    public const string HeaderAttributePrefix = "ingest-h-";
    public const string EmptyBodyPlaceholder = "-";
    public const int MaxGroupIdLength = 128;

    private const string StringDataType = "String";
    private static ReadOnlySpan<byte> EmptyBodyPlaceholderUtf8 => "-"u8;
    private const int MaxAttributeNameLength = 256;

    // Bytes that can start an XML-illegal character in valid UTF-8: C0 controls other than tab, LF
    // and CR, and 0xEF, the lead byte of U+FFFE and U+FFFF (EF BF BE, EF BF BF). Surrogates and
    // over-long forms are already refused by UTF-8 validation.
    private static readonly SearchValues<byte> SuspectBytes = SearchValues.Create(
        [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0E, 0x0F,
         0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F,
         0xEF]);

    /// <summary>
    /// True when the bytes are valid UTF-8 made only of characters SQS accepts in a body:
    /// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. Vectorized: one validation
    /// pass and one search for the few bytes that can start an illegal character.
    /// </summary>
    public static bool IsXmlLegalUtf8(ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            return false;
        }
        while (true)
        {
            var i = utf8.IndexOfAny(SuspectBytes);
            if (i < 0)
            {
                return true;
            }
            if (utf8[i] != 0xEF)
            {
                return false;
            }
            // Valid UTF-8 guarantees two continuation bytes after 0xEF.
            if (utf8[i + 1] == 0xBF && utf8[i + 2] >= 0xBE)
            {
                return false;
            }
            utf8 = utf8[(i + 3)..];
        }
    }

    /// <summary>Same rule for a .NET string (attribute values); lone surrogates are illegal.</summary>
    public static bool IsXmlLegal(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c < 0x20)
            {
                if (c is not ('\t' or '\n' or '\r'))
                {
                    return false;
                }
            }
            else if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }
                i++;
            }
            else if (char.IsLowSurrogate(c) || c >= 0xFFFE)
            {
                return false;
            }
        }
        return true;
    }

    public static SqsBodyEncoding ChooseEncoding(ReadOnlySpan<byte> body) =>
        body.IsEmpty ? SqsBodyEncoding.Empty
        : IsXmlLegalUtf8(body) ? SqsBodyEncoding.Text
        : SqsBodyEncoding.Base64;

    /// <summary>UTF-8 bytes of the body as sent: base64 grows it by 4/3 (rounded up to 4 bytes).</summary>
    public static long BodyWireBytes(int bodyLength, SqsBodyEncoding encoding) => encoding switch
    {
        SqsBodyEncoding.Text => bodyLength,
        SqsBodyEncoding.Base64 => ((bodyLength + 2L) / 3) * 4,
        _ => EmptyBodyPlaceholder.Length,
    };

    /// <summary>
    /// Bytes SQS counts toward its message and batch limits: the body as sent plus, per attribute,
    /// name + data type + value (UTF-8). Allocation-free: it runs on the request path.
    /// </summary>
    public static int MeasureWireBytes(IngestEvent e)
    {
        var encoding = ChooseEncoding(e.Body.Span);
        var sizer = new AttributeSizer();
        VisitAttributes(e, encoding, ref sizer);
        var total = BodyWireBytes(e.Body.Length, encoding) + sizer.Bytes;
        return total > int.MaxValue ? int.MaxValue : (int)total;
    }

    /// <summary>
    /// Writes one <c>SendMessageBatch</c> entry as JSON: <c>Id</c> (the event id in <c>N</c> format, 32
    /// hex digits), <c>MessageBody</c>, <c>MessageAttributes</c> and, for FIFO queues, the group id and
    /// the event id as deduplication id. The body is written from the event's bytes, no strings between.
    /// </summary>
    public static void WriteEntry(Utf8JsonWriter writer, IngestEvent e, SqsGroupIdSource? fifoGroup)
    {
        var body = e.Body.Span;
        var encoding = ChooseEncoding(body);
        Span<byte> id = stackalloc byte[32];
        e.Id.TryFormat(id, out _, "N");
        writer.WriteStartObject();
        writer.WriteString("Id"u8, id);
        switch (encoding)
        {
            case SqsBodyEncoding.Text:
                writer.WriteString("MessageBody"u8, body);
                break;
            case SqsBodyEncoding.Base64:
                writer.WriteBase64String("MessageBody"u8, body);
                break;
            default:
                writer.WriteString("MessageBody"u8, EmptyBodyPlaceholderUtf8);
                break;
        }
        writer.WriteStartObject("MessageAttributes"u8);
        var attributes = new AttributeWriter(writer);
        VisitAttributes(e, encoding, ref attributes);
        writer.WriteEndObject();
        if (fifoGroup is { } group)
        {
            writer.WriteString("MessageGroupId"u8, group.GroupIdOf(e));
            // The event id is stable across retries, so a resend within SQS's 5-minute window is dropped.
            writer.WriteString("MessageDeduplicationId"u8, id);
        }
        writer.WriteEndObject();
    }

    /// <summary>
    /// Walks the attributes in priority order, stopping at 10: envelope fields first, then the
    /// captured headers while room remains. Empty or XML-illegal values are left out (SQS refuses
    /// them), as are headers whose names cannot be attribute names.
    /// </summary>
    public static void VisitAttributes<TVisitor>(IngestEvent e, SqsBodyEncoding encoding, ref TVisitor visitor)
        where TVisitor : struct, IAttributeVisitor
    {
        visitor.Id(EventIdAttribute, e.Id);
        var count = 1;
        if (Usable(e.RouteKey))
        {
            visitor.Text(RouteAttribute, e.RouteKey);
            count++;
        }
        visitor.Number(ReceivedAtAttribute, e.ReceivedAtMs);
        count++;
        if (Usable(e.ContentType))
        {
            visitor.Text(ContentTypeAttribute, e.ContentType!);
            count++;
        }
        if (Usable(e.SourceIp))
        {
            visitor.Text(SourceIpAttribute, e.SourceIp!);
            count++;
        }
        if (Usable(e.TraceParent))
        {
            visitor.Text(TraceParentAttribute, e.TraceParent!);
            count++;
        }
        if (encoding != SqsBodyEncoding.Text)
        {
            visitor.Text(EncodingAttribute, encoding == SqsBodyEncoding.Base64 ? "base64" : "empty");
            count++;
        }
        var headers = e.Headers;
        for (var i = 0; i < headers.Length && count < MaxAttributes; i++)
        {
            var (name, value) = headers[i];
            if (!IsHeaderAttributeName(name)
                || name is "content-type" or "traceparent"
                || !Usable(value)
                || SeenBefore(headers, i))
            {
                continue;
            }
            visitor.Header(name, value);
            count++;
        }
    }

    /// <summary>Name rules of SQS attributes: [A-Za-z0-9_.-], no "..", no trailing '.', 256 at most.</summary>
    public static bool IsHeaderAttributeName(string headerName)
    {
        if (headerName.Length == 0 || headerName.Length > MaxAttributeNameLength - HeaderAttributePrefix.Length || headerName[^1] == '.')
        {
            return false;
        }
        for (var i = 0; i < headerName.Length; i++)
        {
            var c = headerName[i];
            var ok = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' || (c == '.' && (i == 0 || headerName[i - 1] != '.'));
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    private static bool Usable(string? value) => !string.IsNullOrEmpty(value) && IsXmlLegal(value);

    private static bool SeenBefore(KeyValuePair<string, string>[] headers, int index)
    {
        for (var j = 0; j < index; j++)
        {
            if (string.Equals(headers[j].Key, headers[index].Key, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static int DecimalDigits(long value)
    {
        if (value == long.MinValue)
        {
            return 20;
        }
        var digits = value < 0 ? 2 : 1;
        var v = Math.Abs(value);
        while (v >= 10)
        {
            v /= 10;
            digits++;
        }
        return digits;
    }

    internal interface IAttributeVisitor
    {
        void Text(string name, string value);
        void Number(string name, long value);
        void Id(string name, Guid value);
        void Header(string headerName, string value);
    }

    private struct AttributeSizer : IAttributeVisitor
    {
        public long Bytes;

        public void Text(string name, string value) => Bytes += name.Length + StringDataType.Length + Encoding.UTF8.GetByteCount(value);

        public void Number(string name, long value) => Bytes += name.Length + StringDataType.Length + DecimalDigits(value);

        public void Id(string name, Guid value) => Bytes += name.Length + StringDataType.Length + 36;

        public void Header(string headerName, string value) =>
            Bytes += HeaderAttributePrefix.Length + headerName.Length + StringDataType.Length + Encoding.UTF8.GetByteCount(value);
    }

    /// <summary>Writes each attribute as <c>"name": {"DataType": "String", "StringValue": value}</c>.</summary>
    private readonly struct AttributeWriter(Utf8JsonWriter writer) : IAttributeVisitor
    {
        public void Text(string name, string value)
        {
            writer.WriteStartObject(name);
            writer.WriteString("DataType"u8, "String"u8);
            writer.WriteString("StringValue"u8, value);
            writer.WriteEndObject();
        }

        public void Number(string name, long value)
        {
            Span<byte> digits = stackalloc byte[20];
            value.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
            writer.WriteStartObject(name);
            writer.WriteString("DataType"u8, "String"u8);
            writer.WriteString("StringValue"u8, digits[..length]);
            writer.WriteEndObject();
        }

        public void Id(string name, Guid value)
        {
            Span<byte> text = stackalloc byte[36];
            value.TryFormat(text, out _, "D");
            writer.WriteStartObject(name);
            writer.WriteString("DataType"u8, "String"u8);
            writer.WriteString("StringValue"u8, text);
            writer.WriteEndObject();
        }

        public void Header(string headerName, string value)
        {
            // Header attribute names are ASCII (IsHeaderAttributeName) and at most 256 bytes with the prefix.
            Span<byte> name = stackalloc byte[MaxAttributeNameLength];
            var prefix = "ingest-h-"u8;
            prefix.CopyTo(name);
            var length = prefix.Length + Encoding.ASCII.GetBytes(headerName, name[prefix.Length..]);
            writer.WriteStartObject(name[..length]);
            writer.WriteString("DataType"u8, "String"u8);
            writer.WriteString("StringValue"u8, value);
            writer.WriteEndObject();
        }
    }
}

/// <summary>Where a FIFO message group id comes from: <c>header:NAME</c>, <c>json:FIELD</c>, else the route key.</summary>
internal sealed class SqsGroupIdSource
{
    private readonly string? _header;
    private readonly string? _jsonField;

    public SqsGroupIdSource(string? source)
    {
        _header = Core.Pipeline.EventKeySource.HeaderName(source);
        _jsonField = Core.Pipeline.EventKeySource.JsonField(source);
    }

    /// <summary>The group id of an event: the configured value when present, else the route key; always a legal id.</summary>
    public string GroupIdOf(IngestEvent e)
    {
        var raw = _header is not null ? e.Header(_header)
            : _jsonField is not null ? JsonFieldText(e.Body.Span, _jsonField)
            : null;
        return ToLegalGroupId(string.IsNullOrEmpty(raw) ? e.RouteKey : raw);
    }

    /// <summary>A top-level string or number field of a JSON object body (numbers as written), else null.</summary>
    public static string? JsonFieldText(ReadOnlySpan<byte> body, string field)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(field);
                reader.Read();
                if (match)
                {
                    return reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString(),
                        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                        _ => null,
                    };
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not JSON (or cut short): the caller falls back to the route key.
        }
        return null;
    }

    /// <summary>
    /// SQS group ids are 1..128 characters from ASCII 0x21-0x7E. A value that already fits (and has
    /// no '%') is kept; otherwise other bytes are %-escaped, which keeps distinct keys distinct (so
    /// ordering per key holds); still too long, it becomes a SHA-256 digest.
    /// </summary>
    public static string ToLegalGroupId(string value)
    {
        if (value.Length is > 0 and <= SqsMessageFormat.MaxGroupIdLength && IsPlain(value))
        {
            return value;
        }
        var utf8 = Encoding.UTF8.GetBytes(value);
        var escaped = new StringBuilder(utf8.Length * 3);
        foreach (var b in utf8)
        {
            if (b is >= 0x21 and <= 0x7E && b != (byte)'%')
            {
                escaped.Append((char)b);
            }
            else
            {
                escaped.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        if (escaped.Length is > 0 and <= SqsMessageFormat.MaxGroupIdLength)
        {
            return escaped.ToString();
        }
        return "sha256-" + Convert.ToHexStringLower(SHA256.HashData(utf8));
    }

    private static bool IsPlain(string value)
    {
        foreach (var c in value)
        {
            if (c is < '!' or > '~' or '%')
            {
                return false;
            }
        }
        return true;
    }
}
