using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Fluid;
using Fluid.Values;

namespace Ingest.Core.Templates;

/// <summary>
/// A parsed JSON document as template values: objects and arrays are read where the template
/// goes (<c>input.json.device.id</c>, <c>items[0]</c>, <c>for</c>), nothing is copied up front.
/// </summary>
internal static class JsonValues
{
    /// <summary>The template value of a JSON element.</summary>
    public static FluidValue From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new JsonObjectValue(element),
        JsonValueKind.Array => ArrayOf(element),
        JsonValueKind.String => new StringValue(StringOf(element)),
        JsonValueKind.Number => element.TryGetDecimal(out var number) ? NumberValue.Create(number) : new StringValue(element.GetRawText()),
        JsonValueKind.True => BooleanValue.True,
        JsonValueKind.False => BooleanValue.False,
        _ => NilValue.Instance,
    };

    /// <summary>Parses a body as JSON; null when it is not JSON.</summary>
    public static JsonDocument? TryParse(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return null;
        }
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ArrayValue ArrayOf(JsonElement array)
    {
        var length = array.GetArrayLength();
        if (length == 0)
        {
            return ArrayValue.Empty;
        }
        var items = new FluidValue[length];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            items[i++] = From(item);
        }
        return new ArrayValue(items);
    }

    private static string StringOf(JsonElement element)
    {
        try
        {
            return element.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate (\ud800) is valid JSON but no valid string: keep the escaped text.
            var raw = element.GetRawText();
            return raw[1..^1];
        }
    }
}

/// <summary>
/// A JSON object: members by name (<c>.name</c>, <c>['name']</c>), <c>for pair in object</c>,
/// <c>contains</c> tests a member name, and printed it is its JSON text.
/// </summary>
internal sealed class JsonObjectValue(JsonElement element) : FluidValue
{
    public JsonElement Element { get; } = element;

    public override FluidValues Type => FluidValues.Dictionary;

    public override bool Equals(FluidValue other) =>
        other is JsonObjectValue json && json.Element.GetRawText() == Element.GetRawText();

    public override bool ToBooleanValue() => true;

    public override decimal ToNumberValue() => 0;

    public override string ToStringValue() => Element.GetRawText();

    public override object ToObjectValue() => Element;

    public override ValueTask WriteToAsync(TextWriter writer, TextEncoder encoder, CultureInfo cultureInfo)
    {
        writer.Write(encoder.Encode(Element.GetRawText()));
        return default;
    }

    [Obsolete("WriteTo is obsolete, prefer the WriteToAsync method.")]
    public override void WriteTo(TextWriter writer, TextEncoder encoder, CultureInfo cultureInfo) =>
        writer.Write(encoder.Encode(Element.GetRawText()));

    public override ValueTask<FluidValue> GetValueAsync(string name, TemplateContext context)
    {
        if (Element.TryGetProperty(name, out var member))
        {
            return JsonValues.From(member);
        }
        return name == "size" ? NumberValue.Create(Count()) : NilValue.Instance;
    }

    public override ValueTask<FluidValue> GetIndexAsync(FluidValue index, TemplateContext context) =>
        Element.TryGetProperty(index.ToStringValue(), out var member) ? JsonValues.From(member) : NilValue.Instance;

    public override bool Contains(FluidValue value) => Element.TryGetProperty(value.ToStringValue(), out _);

    public override IEnumerable<FluidValue> Enumerate(TemplateContext context)
    {
        foreach (var member in Element.EnumerateObject())
        {
            yield return new ArrayValue([new StringValue(member.Name), JsonValues.From(member.Value)]);
        }
    }

    public override bool Equals(object? obj) => obj is FluidValue other && Equals(other);

    public override int GetHashCode() => Element.GetRawText().GetHashCode(StringComparison.Ordinal);

    private int Count()
    {
        var count = 0;
        foreach (var _ in Element.EnumerateObject())
        {
            count++;
        }
        return count;
    }
}
