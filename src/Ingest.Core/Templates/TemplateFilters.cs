using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Fluid;
using Fluid.Values;

namespace Ingest.Core.Templates;

/// <summary>
/// The filters of ours (names are part of the template language; see docs/templates.md):
/// <c>json</c>, <c>json_escape</c>, <c>json_path</c>, <c>base64_encode</c>, <c>base64_decode</c>.
/// Fluid's standard filters (<c>default</c>, <c>upcase</c>, <c>size</c>, <c>date</c>, ...) stay.
/// </summary>
internal static class TemplateFilters
{
    // Deep enough for any JSON body we parse (depth 64) inside the scope's own objects.
    private const int MaxJsonDepth = 128;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = true,
        MaxDepth = MaxJsonDepth + 8,
    };

    public static void Register(FilterCollection filters)
    {
        filters.AddFilter("json", Json);
        filters.AddFilter("json_escape", JsonEscape);
        filters.AddFilter("json_path", JsonPathFilter);
        filters.AddFilter("base64_encode", Base64Encode);
        filters.AddFilter("base64_decode", Base64Decode);
    }

    /// <summary><c>value | json</c>: the value as JSON text (a string becomes a quoted JSON string).</summary>
    private static ValueTask<FluidValue> Json(FluidValue input, FilterArguments arguments, TemplateContext context)
    {
        var render = (RenderContext)context;
        render.Check();
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteJson(writer, input, render, 0);
        }
        render.CheckLength(buffer.WrittenCount);
        return new StringValue(Encoding.UTF8.GetString(buffer.WrittenSpan), false);
    }

    /// <summary><c>text | json_escape</c>: the text as the inside of a JSON string (quotes, backslashes and control characters escaped).</summary>
    private static ValueTask<FluidValue> JsonEscape(FluidValue input, FilterArguments arguments, TemplateContext context)
    {
        var render = (RenderContext)context;
        render.Check();
        var text = input.IsNil() ? "" : input.ToStringValue();
        var escaped = JsonEncodedText.Encode(ValidUtf16(text), JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();
        render.CheckLength(escaped.Length);
        return new StringValue(escaped, false);
    }

    /// <summary><c>value | json_path: '$.a.b[0]'</c>: the part of a JSON value (or of JSON text) the path names; nil when absent.</summary>
    private static async ValueTask<FluidValue> JsonPathFilter(FluidValue input, FilterArguments arguments, TemplateContext context)
    {
        ((RenderContext)context).Check();
        var source = arguments.At(0).ToStringValue();
        var path = JsonPath.Parse(source) ?? throw new TemplateLimitException($"json_path: '{source}' is not a path this filter reads. Write e.g. '$.device.id', '$.items[0]' or \"$['odd name']\".");
        if (input.Type == FluidValues.String)
        {
            using var document = JsonValues.TryParse(Encoding.UTF8.GetBytes(input.ToStringValue()));
            if (document is null)
            {
                return NilValue.Instance;
            }
            return path.Select(document.RootElement) is { } element ? Detached(element) : NilValue.Instance;
        }
        if (input is JsonObjectValue json)
        {
            return path.Select(json.Element) is { } element ? JsonValues.From(element) : NilValue.Instance;
        }
        var current = input;
        foreach (var segment in path.Segments)
        {
            if (current.IsNil())
            {
                return NilValue.Instance;
            }
            current = segment.Name is { } name
                ? await current.GetValueAsync(name, context)
                : current.Type == FluidValues.Array ? await current.GetIndexAsync(NumberValue.Create(segment.Index), context) : NilValue.Instance;
        }
        return current;
    }

    /// <summary><c>text | base64_encode</c>: base64 of the text's UTF-8 bytes.</summary>
    private static ValueTask<FluidValue> Base64Encode(FluidValue input, FilterArguments arguments, TemplateContext context)
    {
        var render = (RenderContext)context;
        render.Check();
        var text = input.IsNil() ? "" : input.ToStringValue();
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        render.CheckLength(encoded.Length);
        return new StringValue(encoded, false);
    }

    /// <summary><c>text | base64_decode</c>: the UTF-8 text of base64 (invalid UTF-8 becomes U+FFFD); not base64 is a render error.</summary>
    private static ValueTask<FluidValue> Base64Decode(FluidValue input, FilterArguments arguments, TemplateContext context)
    {
        ((RenderContext)context).Check();
        var text = input.IsNil() ? "" : input.ToStringValue();
        var bytes = new byte[text.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(text, bytes, out var written))
        {
            throw new TemplateLimitException("base64_decode: the value is not base64");
        }
        return new StringValue(Encoding.UTF8.GetString(bytes, 0, written), false);
    }

    private static void WriteJson(Utf8JsonWriter writer, FluidValue value, RenderContext context, int depth)
    {
        if (depth > MaxJsonDepth)
        {
            throw new TemplateLimitException($"json: the value is nested deeper than {MaxJsonDepth} levels");
        }
        switch (value)
        {
            case JsonObjectValue json:
                json.Element.WriteTo(writer);
                return;
            case DateTimeValue when value.ToObjectValue() is DateTimeOffset time:
                writer.WriteStringValue(time.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                return;
        }
        switch (value.Type)
        {
            case FluidValues.Nil or FluidValues.Empty or FluidValues.Blank:
                writer.WriteNullValue();
                break;
            case FluidValues.Boolean:
                writer.WriteBooleanValue(value.ToBooleanValue());
                break;
            case FluidValues.Number:
                writer.WriteNumberValue(value.ToNumberValue());
                break;
            case FluidValues.Array:
                writer.WriteStartArray();
                foreach (var item in value.Enumerate(context))
                {
                    WriteJson(writer, item, context, depth + 1);
                }
                writer.WriteEndArray();
                break;
            case FluidValues.Dictionary:
                writer.WriteStartObject();
                foreach (var pair in value.Enumerate(context))
                {
                    // Dictionaries enumerate as [key, value] pairs.
                    var items = pair.Enumerate(context).ToArray();
                    if (items.Length == 2)
                    {
                        writer.WritePropertyName(ValidUtf16(items[0].ToStringValue()));
                        WriteJson(writer, items[1], context, depth + 1);
                    }
                }
                writer.WriteEndObject();
                break;
            default:
                writer.WriteStringValue(ValidUtf16(value.ToStringValue()));
                break;
        }
        if (writer.BytesPending > 64 * 1024)
        {
            context.CheckLength((int)Math.Min(int.MaxValue, writer.BytesCommitted + writer.BytesPending));
            writer.Flush();
        }
    }

    // A string sliced in the middle of a surrogate pair is not valid UTF-16, which JSON writers refuse.
    internal static string ValidUtf16(string text)
    {
        var bad = -1;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                bad = i;
                break;
            }
        }
        if (bad < 0)
        {
            return text;
        }
        var builder = new StringBuilder(text.Length);
        builder.Append(text, 0, bad);
        for (var i = bad; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(text[i]).Append(text[++i]);
            }
            else
            {
                builder.Append(char.IsSurrogate(text[i]) ? '\uFFFD' : text[i]);
            }
        }
        return builder.ToString();
    }

    // The document is disposed when the filter returns: objects and arrays keep a copy of their element.
    private static FluidValue Detached(JsonElement element) =>
        element.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? JsonValues.From(element.Clone()) : JsonValues.From(element);
}

/// <summary>
/// The JSONPath subset <c>json_path</c> reads: <c>$</c>, then <c>.name</c>, <c>['name']</c>
/// (or double quotes) and <c>[n]</c> (n ≥ 0). Parsed paths are kept, so a literal path costs nothing after its first use.
/// </summary>
internal sealed class JsonPath
{
    private const int MaxCached = 1024;
    private static readonly ConcurrentDictionary<string, JsonPath> Cache = new(StringComparer.Ordinal);

    private JsonPath(Segment[] segments) => Segments = segments;

    public Segment[] Segments { get; }

    /// <summary>One step: a member name, or an array index when <see cref="Name"/> is null.</summary>
    public readonly record struct Segment(string? Name, int Index);

    public static JsonPath? Parse(string source)
    {
        if (Cache.TryGetValue(source, out var cached))
        {
            return cached;
        }
        var parsed = ParseUncached(source);
        if (parsed is not null && Cache.Count < MaxCached)
        {
            Cache.TryAdd(source, parsed);
        }
        return parsed;
    }

    public JsonElement? Select(JsonElement root)
    {
        var current = root;
        foreach (var segment in Segments)
        {
            if (segment.Name is { } name)
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
                {
                    return null;
                }
            }
            else if (current.ValueKind != JsonValueKind.Array || segment.Index >= current.GetArrayLength())
            {
                return null;
            }
            else
            {
                current = current[segment.Index];
            }
        }
        return current;
    }

    private static JsonPath? ParseUncached(string source)
    {
        if (source.Length == 0 || source[0] != '$' || source.Length > 1024)
        {
            return null;
        }
        var segments = new List<Segment>();
        var i = 1;
        while (i < source.Length)
        {
            if (source[i] == '.')
            {
                var start = ++i;
                while (i < source.Length && source[i] is not '.' and not '[')
                {
                    i++;
                }
                if (i == start)
                {
                    return null;
                }
                segments.Add(new Segment(source[start..i], 0));
            }
            else if (source[i] == '[' && i + 1 < source.Length && source[i + 1] is '\'' or '"')
            {
                var quote = source[i + 1];
                var end = source.IndexOf(quote, i + 2);
                if (end < 0 || end + 1 >= source.Length || source[end + 1] != ']')
                {
                    return null;
                }
                segments.Add(new Segment(source[(i + 2)..end], 0));
                i = end + 2;
            }
            else if (source[i] == '[')
            {
                var end = source.IndexOf(']', i + 1);
                if (end < 0 || !int.TryParse(source.AsSpan(i + 1, end - i - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    return null;
                }
                segments.Add(new Segment(null, index));
                i = end + 1;
            }
            else
            {
                return null;
            }
        }
        return new JsonPath([.. segments]);
    }
}
