using System.Text;

namespace Ingest.Targets.S3.Objects;

/// <summary>
/// The <c>key:</c> of an s3 target: literal text with path parameters, e.g. <c>uploads/{id}</c> or
/// <c>files/{proxy+}</c> (the <c>+</c> is optional). <c>${stageVariables.NAME}</c> is literal text
/// here: it is filled in per stage before the target is created.
/// </summary>
internal sealed class S3ObjectKey
{
    /// <summary>S3's limit on a key: 1024 bytes of UTF-8.</summary>
    public const int MaxKeyBytes = 1024;

    private readonly Part[] _parts;

    private S3ObjectKey(string text, Part[] parts)
    {
        Text = text;
        _parts = parts;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>Path parameters the key reads.</summary>
    public IEnumerable<string> ParameterNames => _parts.Where(p => p.IsParameter).Select(p => p.Text);

    /// <summary>Parses a key template, or returns why it is not one.</summary>
    public static S3ObjectKey? TryParse(string text, out string? error)
    {
        error = null;
        var parts = new List<Part>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '$' && i + 1 < text.Length && text[i + 1] == '{')
            {
                // ${stageVariables.NAME}: replaced per stage before the target exists; kept as written.
                var end = text.IndexOf('}', i);
                if (end < 0)
                {
                    error = $"'${{' at {i} is not closed with '}}'";
                    return null;
                }
                literal.Append(text, i, end - i + 1);
                i = end;
            }
            else if (c == '{')
            {
                var end = text.IndexOf('}', i);
                if (end < 0)
                {
                    error = $"'{{' at {i} is not closed with '}}'";
                    return null;
                }
                var name = text[(i + 1)..end];
                if (name.EndsWith('+'))
                {
                    name = name[..^1];
                }
                if (name.Length == 0 || !name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-'))
                {
                    error = $"'{text[i..(end + 1)]}' is not a path parameter; write {{name}} with letters, digits, '_' or '-'";
                    return null;
                }
                if (literal.Length > 0)
                {
                    parts.Add(new Part(false, literal.ToString()));
                    literal.Clear();
                }
                parts.Add(new Part(true, name));
                i = end;
            }
            else if (c == '}')
            {
                error = $"'}}' at {i} has no opening '{{'";
                return null;
            }
            else
            {
                literal.Append(c);
            }
        }
        if (literal.Length > 0)
        {
            parts.Add(new Part(false, literal.ToString()));
        }
        if (parts.Count == 0)
        {
            error = "the key is empty";
            return null;
        }
        if (!parts[0].IsParameter && parts[0].Text.StartsWith('/'))
        {
            error = "the key starts with '/'; S3 keys have no leading slash (write uploads/{id})";
            return null;
        }
        return new S3ObjectKey(text, [.. parts]);
    }

    /// <summary>The object key for a request's path parameters, or null with the client's 400 message.</summary>
    public string? Resolve(IReadOnlyDictionary<string, string> parameters, out string? error)
    {
        string key;
        if (_parts.Length == 1 && _parts[0].IsParameter)
        {
            key = parameters.TryGetValue(_parts[0].Text, out var only) ? only : "";
        }
        else
        {
            var builder = new StringBuilder();
            foreach (var part in _parts)
            {
                builder.Append(part.IsParameter ? parameters.GetValueOrDefault(part.Text, "") : part.Text);
            }
            key = builder.ToString();
        }
        error = Check(key);
        return error is null ? key : null;
    }

    /// <summary>
    /// Why <paramref name="key"/> may not be used, or null. Dot segments could reach objects outside
    /// the key's prefix once a client or proxy normalizes the path; control characters are not
    /// representable in S3's XML listings.
    /// </summary>
    public static string? Check(string key)
    {
        if (key.Length == 0)
        {
            return "Invalid object key: it is empty";
        }
        if (key[0] == '/')
        {
            return "Invalid object key: it starts with '/'";
        }
        foreach (var c in key)
        {
            if (char.IsControl(c))
            {
                return "Invalid object key: it contains a control character";
            }
        }
        foreach (var range in key.AsSpan().Split('/'))
        {
            var segment = key.AsSpan()[range];
            if (segment is "." or "..")
            {
                return "Invalid object key: '.' and '..' segments are not allowed";
            }
        }
        if (Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            return $"Invalid object key: longer than {MaxKeyBytes} bytes";
        }
        return null;
    }

    private readonly record struct Part(bool IsParameter, string Text);
}
