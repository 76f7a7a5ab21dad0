using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Ingest.Core.Payload;

/// <summary>
/// The subset of JSON Schema (2020-12 wording, drafts 6+ compatible) an ingest body check needs:
/// <c>type</c>, <c>properties</c>, <c>required</c>, <c>additionalProperties</c>, <c>items</c>,
/// <c>enum</c>, <c>const</c>, <c>minimum</c>, <c>maximum</c>, <c>exclusiveMinimum</c>,
/// <c>exclusiveMaximum</c>, <c>multipleOf</c>, <c>minLength</c>, <c>maxLength</c>, <c>pattern</c>,
/// <c>minItems</c>, <c>maxItems</c>, <c>minProperties</c>, <c>maxProperties</c>; annotations
/// (<c>title</c>, <c>description</c>, <c>format</c>, ...) are ignored. Any other keyword (<c>$ref</c>,
/// <c>oneOf</c>, ...) is a configuration error, never silently skipped. Compiled once; validation
/// reports the first error as a path such as <c>$.temp</c>.
/// </summary>
public sealed class JsonSchema
{
    public static readonly string[] Keywords =
    [
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
        "pattern", "minItems", "maxItems", "minProperties", "maxProperties",
    ];

    private static readonly string[] Annotations =
    [
        "$schema", "$id", "$comment", "title", "description", "default", "examples", "format",
        "readOnly", "writeOnly", "deprecated", "contentMediaType", "contentEncoding",
    ];

    private static readonly TimeSpan PatternTimeout = TimeSpan.FromMilliseconds(50);

    private bool _never;
    private JsonTypes _types = JsonTypes.Any;
    private Dictionary<string, JsonSchema>? _properties;
    private string[]? _required;
    private bool _noAdditional;
    private JsonSchema? _additional;
    private JsonSchema? _items;
    private JsonElement[]? _enum;
    private JsonElement? _const;
    private double? _minimum;
    private double? _maximum;
    private double? _exclusiveMinimum;
    private double? _exclusiveMaximum;
    private double? _multipleOf;
    private int? _minLength;
    private int? _maxLength;
    private Regex? _pattern;
    private int? _minItems;
    private int? _maxItems;
    private int? _minProperties;
    private int? _maxProperties;

    [Flags]
    private enum JsonTypes
    {
        Null = 1,
        Boolean = 2,
        Object = 4,
        Array = 8,
        Number = 16,
        String = 32,
        Integer = 64,
        Any = Null | Boolean | Object | Array | Number | String | Integer,
    }

    private JsonSchema()
    {
    }

    /// <summary>
    /// Reads a route's <c>schema:</c> value: <c>file:PATH</c> (relative paths against the working
    /// directory) or the schema inline. Null with <paramref name="errors"/> filled when unusable.
    /// </summary>
    public static JsonSchema? Load(string source, ICollection<string> errors)
    {
        string text;
        var trimmed = source.Trim();
        if (trimmed.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = Path.GetFullPath(trimmed[5..]);
            if (!File.Exists(path))
            {
                errors.Add($"'{trimmed[5..]}' does not exist (looked at {path}). Fix the path; relative paths start at the working directory.");
                return null;
            }
            text = File.ReadAllText(path);
        }
        else if (trimmed.StartsWith('{') || trimmed is "true" or "false")
        {
            text = trimmed;
        }
        else
        {
            errors.Add("write file:PATH (a JSON schema file) or the schema itself as JSON, e.g. '{\"type\": \"object\", \"required\": [\"temp\"]}'.");
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256 });
            var count = errors.Count;
            var schema = Compile(document.RootElement, "#", errors);
            return errors.Count == count ? schema : null;
        }
        catch (JsonException e)
        {
            errors.Add($"the schema is not valid JSON ({e.Message.Split(". ")[0]}). Fix the file.");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException)
        {
            errors.Add($"the schema has a string or number that cannot be read ({e.Message.Split(". ")[0]}). Fix the file.");
            return null;
        }
    }

    /// <summary>The first place <paramref name="instance"/> breaks the schema, or null.</summary>
    public JsonError? Validate(JsonElement instance)
    {
        var path = new List<object>();
        try
        {
            return Check(instance, path);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException)
        {
            // Strings with invalid UTF-8 or a lone surrogate escape have no .NET string, and numbers
            // with huge exponents cannot be compared: the body is refused, not the request crashed
            // (found by fuzzing).
            return Error(path, "a string or number that cannot be read (invalid UTF-8, a lone surrogate escape or an out-of-range exponent)");
        }
    }

    private static JsonSchema? Compile(JsonElement node, string at, ICollection<string> errors)
    {
        var schema = new JsonSchema();
        if (node.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            schema._never = node.ValueKind == JsonValueKind.False;
            return schema;
        }
        if (node.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{at}: a schema must be an object or true/false.");
            return null;
        }
        foreach (var keyword in node.EnumerateObject())
        {
            var value = keyword.Value;
            var where = $"{at}/{keyword.Name}";
            switch (keyword.Name)
            {
                case "type":
                    schema._types = 0;
                    foreach (var name in value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToArray() : [value])
                    {
                        var type = name.ValueKind == JsonValueKind.String ? TypeOf(name.GetString()!) : null;
                        if (type is null)
                        {
                            errors.Add($"{where}: {name.GetRawText()} is not a type; use null, boolean, object, array, number, string or integer.");
                        }
                        else
                        {
                            schema._types |= type.Value;
                        }
                    }
                    break;
                case "properties":
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add($"{where}: must be an object of property schemas.");
                        break;
                    }
                    schema._properties = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
                    foreach (var property in value.EnumerateObject())
                    {
                        if (Compile(property.Value, $"{where}/{property.Name}", errors) is { } child)
                        {
                            schema._properties[property.Name] = child;
                        }
                    }
                    break;
                case "required":
                    if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                    {
                        errors.Add($"{where}: must be an array of property names.");
                        break;
                    }
                    schema._required = value.EnumerateArray().Select(e => e.GetString()!).ToArray();
                    break;
                case "additionalProperties":
                    if (value.ValueKind == JsonValueKind.False)
                    {
                        schema._noAdditional = true;
                    }
                    else if (value.ValueKind != JsonValueKind.True)
                    {
                        schema._additional = Compile(value, where, errors);
                    }
                    break;
                case "items":
                    if (value.ValueKind == JsonValueKind.Array)
                    {
                        errors.Add($"{where}: the array (tuple) form is not supported by this build; give one schema for every item.");
                        break;
                    }
                    schema._items = Compile(value, where, errors);
                    break;
                case "enum":
                    if (value.ValueKind != JsonValueKind.Array)
                    {
                        errors.Add($"{where}: must be an array of allowed values.");
                        break;
                    }
                    schema._enum = value.EnumerateArray().Select(e => e.Clone()).ToArray();
                    break;
                case "const":
                    schema._const = value.Clone();
                    break;
                case "minimum":
                    schema._minimum = Number(value, where, errors);
                    break;
                case "maximum":
                    schema._maximum = Number(value, where, errors);
                    break;
                case "exclusiveMinimum":
                    schema._exclusiveMinimum = Number(value, where, errors, "a number (the draft-4 boolean form is not supported)");
                    break;
                case "exclusiveMaximum":
                    schema._exclusiveMaximum = Number(value, where, errors, "a number (the draft-4 boolean form is not supported)");
                    break;
                case "multipleOf":
                    schema._multipleOf = Number(value, where, errors);
                    if (schema._multipleOf is <= 0)
                    {
                        errors.Add($"{where}: must be above zero.");
                    }
                    break;
                case "minLength":
                    schema._minLength = Count(value, where, errors);
                    break;
                case "maxLength":
                    schema._maxLength = Count(value, where, errors);
                    break;
                case "minItems":
                    schema._minItems = Count(value, where, errors);
                    break;
                case "maxItems":
                    schema._maxItems = Count(value, where, errors);
                    break;
                case "minProperties":
                    schema._minProperties = Count(value, where, errors);
                    break;
                case "maxProperties":
                    schema._maxProperties = Count(value, where, errors);
                    break;
                case "pattern":
                    try
                    {
                        schema._pattern = value.ValueKind == JsonValueKind.String
                            ? new Regex(value.GetString()!, RegexOptions.CultureInvariant, PatternTimeout)
                            : throw new ArgumentException("not a string");
                    }
                    catch (ArgumentException e)
                    {
                        errors.Add($"{where}: not a usable regular expression ({e.Message}).");
                    }
                    break;
                default:
                    if (!Annotations.Contains(keyword.Name, StringComparer.Ordinal) && keyword.Name is not ("$defs" or "definitions"))
                    {
                        errors.Add($"{where}: keyword '{keyword.Name}' is not supported by this build, so it would not be checked. Supported: {string.Join(", ", Keywords)}. Remove it or express the rule with those.");
                    }
                    break;
            }
        }
        return schema;
    }

    private JsonError? Check(JsonElement value, List<object> path)
    {
        if (_never)
        {
            return Error(path, "no value is allowed here");
        }
        var kind = value.ValueKind;
        if (_types != JsonTypes.Any && !HasType(value))
        {
            return Error(path, $"expected {TypeNames(_types)}, got {KindName(kind)}");
        }
        if (_const is { } constant && !JsonElement.DeepEquals(constant, value))
        {
            return Error(path, $"must be {constant.GetRawText()}");
        }
        if (_enum is { } allowed && !allowed.Any(a => JsonElement.DeepEquals(a, value)))
        {
            return Error(path, "not one of the enum values");
        }
        return kind switch
        {
            JsonValueKind.Object => CheckObject(value, path),
            JsonValueKind.Array => CheckArray(value, path),
            JsonValueKind.Number => CheckNumber(value, path),
            JsonValueKind.String => CheckString(value, path),
            _ => null,
        };
    }

    private JsonError? CheckObject(JsonElement value, List<object> path)
    {
        if (_required is { } required)
        {
            foreach (var name in required)
            {
                if (!value.TryGetProperty(name, out _))
                {
                    path.Add(name);
                    return Error(path, "required property missing");
                }
            }
        }
        var count = 0;
        foreach (var property in value.EnumerateObject())
        {
            count++;
            JsonSchema? schema = null;
            if (_properties is not null && _properties.TryGetValue(property.Name, out var declared))
            {
                schema = declared;
            }
            else if (_noAdditional)
            {
                path.Add(property.Name);
                return Error(path, "property not allowed (additionalProperties: false)");
            }
            else
            {
                schema = _additional;
            }
            if (schema is not null)
            {
                path.Add(property.Name);
                if (schema.Check(property.Value, path) is { } error)
                {
                    return error;
                }
                path.RemoveAt(path.Count - 1);
            }
        }
        if (count < _minProperties)
        {
            return Error(path, $"fewer than {_minProperties} properties");
        }
        return count > _maxProperties ? Error(path, $"more than {_maxProperties} properties") : null;
    }

    private JsonError? CheckArray(JsonElement value, List<object> path)
    {
        var length = value.GetArrayLength();
        if (length < _minItems)
        {
            return Error(path, $"fewer than {_minItems} items");
        }
        if (length > _maxItems)
        {
            return Error(path, $"more than {_maxItems} items");
        }
        if (_items is null)
        {
            return null;
        }
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            path.Add(index++);
            if (_items.Check(item, path) is { } error)
            {
                return error;
            }
            path.RemoveAt(path.Count - 1);
        }
        return null;
    }

    private JsonError? CheckNumber(JsonElement value, List<object> path)
    {
        var number = value.GetDouble();
        if (number < _minimum)
        {
            return Error(path, $"below the minimum {Format(_minimum)}");
        }
        if (number > _maximum)
        {
            return Error(path, $"above the maximum {Format(_maximum)}");
        }
        if (number <= _exclusiveMinimum)
        {
            return Error(path, $"must be above {Format(_exclusiveMinimum)}");
        }
        if (number >= _exclusiveMaximum)
        {
            return Error(path, $"must be below {Format(_exclusiveMaximum)}");
        }
        if (_multipleOf is { } step)
        {
            var quotient = number / step;
            if (Math.Abs(quotient - Math.Round(quotient)) > 1e-9 * Math.Max(1, Math.Abs(quotient)))
            {
                return Error(path, $"not a multiple of {Format(step)}");
            }
        }
        return null;
    }

    private JsonError? CheckString(JsonElement value, List<object> path)
    {
        if (_minLength is null && _maxLength is null && _pattern is null)
        {
            return null;
        }
        var text = value.GetString()!;
        // Lengths count characters (code points), as JSON Schema does.
        var length = text.Length;
        foreach (var c in text)
        {
            if (char.IsLowSurrogate(c))
            {
                length--;
            }
        }
        if (length < _minLength)
        {
            return Error(path, $"shorter than {_minLength} characters");
        }
        if (length > _maxLength)
        {
            return Error(path, $"longer than {_maxLength} characters");
        }
        if (_pattern is not null)
        {
            try
            {
                if (!_pattern.IsMatch(text))
                {
                    return Error(path, "does not match the pattern");
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return Error(path, "pattern check took too long");
            }
        }
        return null;
    }

    private bool HasType(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => (_types & JsonTypes.Null) != 0,
        JsonValueKind.True or JsonValueKind.False => (_types & JsonTypes.Boolean) != 0,
        JsonValueKind.Object => (_types & JsonTypes.Object) != 0,
        JsonValueKind.Array => (_types & JsonTypes.Array) != 0,
        JsonValueKind.String => (_types & JsonTypes.String) != 0,
        JsonValueKind.Number => (_types & JsonTypes.Number) != 0
            || ((_types & JsonTypes.Integer) != 0 && IsInteger(value)),
        _ => false,
    };

    private static bool IsInteger(JsonElement value)
    {
        if (value.TryGetInt64(out _))
        {
            return true;
        }
        var number = value.GetDouble();
        return double.IsFinite(number) && Math.Floor(number) == number;
    }

    private static JsonError Error(List<object> path, string reason)
    {
        var text = new StringBuilder("$");
        foreach (var segment in path)
        {
            if (segment is int index)
            {
                text.Append('[').Append(index).Append(']');
            }
            else
            {
                JsonScanner.AppendName(text, (string)segment);
            }
        }
        return new JsonError(text.ToString(), "schema: " + reason);
    }

    private static JsonTypes? TypeOf(string name) => name switch
    {
        "null" => JsonTypes.Null,
        "boolean" => JsonTypes.Boolean,
        "object" => JsonTypes.Object,
        "array" => JsonTypes.Array,
        "number" => JsonTypes.Number | JsonTypes.Integer,
        "string" => JsonTypes.String,
        "integer" => JsonTypes.Integer,
        _ => null,
    };

    private static string TypeNames(JsonTypes types) =>
        string.Join(" or ", Enum.GetValues<JsonTypes>().Where(t => t != JsonTypes.Any && (types & t) != 0
            && !(t == JsonTypes.Integer && (types & JsonTypes.Number) != 0)).Select(t => t.ToString().ToLowerInvariant()));

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string Format(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static double? Number(JsonElement value, string where, ICollection<string> errors, string expected = "a number")
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.GetDouble();
        }
        errors.Add($"{where}: must be {expected}.");
        return null;
    }

    private static int? Count(JsonElement value, string where, ICollection<string> errors)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var count) && count >= 0)
        {
            return count;
        }
        errors.Add($"{where}: must be a whole number, 0 or more.");
        return null;
    }
}
