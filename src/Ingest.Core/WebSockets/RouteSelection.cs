using System.Text;
using System.Text.Json;

namespace Ingest.Core.WebSockets;

/// <summary>
/// The route selection expression of the WebSocket API: <c>json:action</c> (or API Gateway's
/// <c>$request.body.action</c>; <c>json:meta.kind</c> for a nested field) names the JSON string
/// whose value is a message's route key. Selecting reads only as far as the field, allocates nothing
/// and compares the value with the known keys byte by byte.
/// </summary>
public sealed class RouteSelection
{
    private const string JsonPrefix = "json:";
    private const string AwsPrefix = "$request.body.";

    private readonly byte[][] _path;

    private RouteSelection(string text, string[] path)
    {
        Text = text;
        _path = path.Select(Encoding.UTF8.GetBytes).ToArray();
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>Parses an expression; false with the reason when it is not <c>json:FIELD</c> or <c>$request.body.FIELD</c>.</summary>
    public static bool TryParse(string text, out RouteSelection? selection, out string? error)
    {
        selection = null;
        error = null;
        var field = text.StartsWith(JsonPrefix, StringComparison.Ordinal) ? text[JsonPrefix.Length..]
            : text.StartsWith(AwsPrefix, StringComparison.Ordinal) ? text[AwsPrefix.Length..]
            : null;
        if (field is null)
        {
            error = $"'{text}' is not a route selection expression. Write json:FIELD (or $request.body.FIELD), e.g. json:action";
            return false;
        }
        var path = field.Split('.');
        if (path.Any(p => p.Length == 0 || p.Any(char.IsWhiteSpace)))
        {
            error = $"'{text}' names no field. Write json:FIELD, with dots for nested fields, e.g. json:action or json:meta.kind";
            return false;
        }
        selection = new RouteSelection(text, path);
        return true;
    }

    /// <summary>
    /// The route whose key (UTF-8) equals the selected string in <paramref name="json"/>; false when
    /// the message is not a JSON object, lacks the field, the field is not a string, or no key matches.
    /// </summary>
    public bool TrySelect<TRoute>(ReadOnlySpan<byte> json, ReadOnlySpan<KeyValuePair<byte[], TRoute>> routes, out TRoute? route)
    {
        route = default;
        if (routes.IsEmpty)
        {
            return false;
        }
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            for (var level = 0; level < _path.Length; level++)
            {
                // The reader is at the start of the object that holds _path[level].
                if (!FindProperty(ref reader, _path[level]))
                {
                    return false;
                }
                if (level < _path.Length - 1)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        return false;
                    }
                    continue;
                }
                if (reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }
                foreach (var (key, candidate) in routes)
                {
                    if (reader.ValueTextEquals(key))
                    {
                        route = candidate;
                        return true;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (or cut short): no route key in it.
        }
        return false;
    }

    /// <summary>Moves to the value of <paramref name="name"/> among the current object's properties (the first, if repeated).</summary>
    private static bool FindProperty(ref Utf8JsonReader reader, byte[] name)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            if (!reader.Read())
            {
                return false;
            }
            if (match)
            {
                return true;
            }
            reader.Skip();
        }
        return false;
    }
}
