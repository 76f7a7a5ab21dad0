using System.Text;
using System.Text.Json;

namespace Ingest.Core.Payload;

/// <summary>Where a JSON body is wrong (<c>$.readings[2].temp</c>) and why (for the access log).</summary>
public readonly record struct JsonError(string Path, string Reason);

/// <summary>
/// Checks JSON syntax in one forward pass with <see cref="Utf8JsonReader"/>, tracking the path so
/// the first error can be named, with a nesting limit so deeply nested input is refused after at
/// most <c>maxDepth</c> levels. Allocates nothing for valid input. Also splits a top-level array
/// into the exact bytes of its elements.
/// </summary>
public static class JsonScanner
{
    /// <summary>Deepest nesting of objects and arrays accepted in a body or split item.</summary>
    public const int MaxDepth = 64;

    /// <summary>Null when <paramref name="json"/> is one valid JSON value.</summary>
    public static JsonError? Validate(ReadOnlySpan<byte> json, int maxDepth = MaxDepth) =>
        Scan(json, maxDepth, null, 0, out _);

    /// <summary>
    /// Splits a top-level array into its elements' byte ranges. Null when valid; an error names the
    /// path inside the whole array (<c>$[3].temp</c>). <paramref name="tooMany"/> is set (and
    /// scanning stops) at element number <paramref name="maxItems"/> + 1.
    /// </summary>
    public static JsonError? SplitArray(ReadOnlySpan<byte> json, List<Range> items, int maxItems, out bool tooMany, int maxDepth = MaxDepth) =>
        Scan(json, maxDepth, items, maxItems, out tooMany);

    private struct Frame
    {
        public int Index;
        public int NameStart;
        public int NameLength;
        public bool IsArray;
        public bool NameEscaped;
        public bool ValuePending;
    }

    private static JsonError? Scan(ReadOnlySpan<byte> json, int maxDepth, List<Range>? items, int maxItems, out bool tooMany)
    {
        tooMany = false;
        // Split mode: the array itself is one more level.
        var limit = items is null ? maxDepth : maxDepth + 1;
        Span<Frame> frames = limit <= 128 ? stackalloc Frame[limit] : new Frame[limit];
        var depth = 0;
        var itemStart = 0;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = limit + 1 });
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                switch (token)
                {
                    case JsonTokenType.PropertyName:
                        ref var owner = ref frames[depth - 1];
                        owner.NameStart = (int)reader.TokenStartIndex + 1;
                        owner.NameLength = reader.ValueSpan.Length;
                        owner.NameEscaped = reader.ValueIsEscaped;
                        owner.ValuePending = true;
                        continue;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        depth--;
                        if (items is not null && depth == 1)
                        {
                            items.Add(itemStart..(int)reader.BytesConsumed);
                        }
                        continue;
                }

                // The start of a value.
                if (depth > 0)
                {
                    ref var parent = ref frames[depth - 1];
                    parent.ValuePending = false;
                    if (parent.IsArray)
                    {
                        parent.Index++;
                    }
                }
                if (items is not null)
                {
                    if (depth == 0 && token != JsonTokenType.StartArray)
                    {
                        return new JsonError("$", "split: array expects a JSON array at the top level");
                    }
                    if (depth == 1)
                    {
                        if (items.Count == maxItems)
                        {
                            tooMany = true;
                            return null;
                        }
                        itemStart = (int)reader.TokenStartIndex;
                    }
                }
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    if (depth == limit)
                    {
                        return new JsonError(PathOf(json, frames[..depth], innermostPartial: false), $"nested deeper than {maxDepth} levels");
                    }
                    frames[depth++] = new Frame { IsArray = token == JsonTokenType.StartArray, Index = -1 };
                }
                else if (items is not null && depth == 1)
                {
                    items.Add(itemStart..(int)reader.BytesConsumed);
                }
            }
        }
        catch (JsonException e)
        {
            return new JsonError(PathOf(json, frames[..depth], innermostPartial: true), "not valid JSON: " + FirstSentence(e.Message));
        }
        return null;
    }

    /// <summary>
    /// The path of the value being read. In the innermost container the failing value is the
    /// one after the last complete element, or the member whose name was just read.
    /// </summary>
    private static string PathOf(ReadOnlySpan<byte> json, ReadOnlySpan<Frame> frames, bool innermostPartial)
    {
        var path = new StringBuilder("$");
        for (var i = 0; i < frames.Length; i++)
        {
            var frame = frames[i];
            var innermost = innermostPartial && i == frames.Length - 1;
            if (frame.IsArray)
            {
                var index = innermost ? frame.Index + 1 : frame.Index;
                if (index >= 0)
                {
                    path.Append('[').Append(index).Append(']');
                }
            }
            else if (frame.NameLength > 0 || frame.NameStart > 0)
            {
                if (!innermost || frame.ValuePending)
                {
                    AppendName(path, NameOf(json, frame));
                }
            }
        }
        return path.ToString();
    }

    private static string NameOf(ReadOnlySpan<byte> json, Frame frame)
    {
        var raw = json.Slice(frame.NameStart, frame.NameLength);
        if (!frame.NameEscaped)
        {
            return Encoding.UTF8.GetString(raw);
        }
        var quoted = json.Slice(frame.NameStart - 1, frame.NameLength + 2);
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        try
        {
            return reader.GetString() ?? "";
        }
        catch (InvalidOperationException)
        {
            // A lone surrogate escape (\ud800) has no string form: name the key as written (found by fuzzing).
            return Encoding.UTF8.GetString(raw);
        }
    }

    /// <summary><c>.name</c> for plain names, <c>['odd name']</c> otherwise.</summary>
    internal static void AppendName(StringBuilder path, string name)
    {
        var plain = name.Length > 0 && !char.IsAsciiDigit(name[0]);
        foreach (var c in name)
        {
            plain &= char.IsAsciiLetterOrDigit(c) || c == '_';
        }
        if (plain)
        {
            path.Append('.').Append(name);
        }
        else
        {
            path.Append("['").Append(name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)).Append("']");
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
