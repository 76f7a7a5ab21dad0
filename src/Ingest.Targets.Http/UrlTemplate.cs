using System.Text;
using Microsoft.AspNetCore.Http;

namespace Ingest.Targets.Http;

/// <summary>
/// A backend URL with path parameters: <c>http://h/items/{id}</c>, <c>http://h/files/{proxy+}</c>.
/// Values are escaped per segment (a greedy value keeps its slashes). When the URL has no
/// placeholder and the route has a greedy parameter, the greedy value is appended to the URL's
/// path. The client's query string is added after the URL's own query.
/// </summary>
internal sealed class UrlTemplate
{
    private readonly Part[] _parts;
    private readonly string _query;

    private UrlTemplate(string text, string origin, Part[] parts, string query)
    {
        Text = text;
        Origin = origin;
        _parts = parts;
        _query = query;
        FixedUri = HasParameters || query.Length > 0 || !Uri.TryCreate(parts[0].Text, UriKind.Absolute, out var uri) ? null : uri;
    }

    /// <summary>The URL as configured.</summary>
    public string Text { get; }

    /// <summary><c>scheme://host:port</c>: where health probes go.</summary>
    public string Origin { get; }

    /// <summary>
    /// A URL without placeholders and query, parsed once: what <see cref="Build"/> returns when the call
    /// adds nothing (no greedy value, no client query). Null for other URLs.
    /// </summary>
    public Uri? FixedUri { get; }

    /// <summary>Names of the placeholders, without <c>+</c>.</summary>
    public IEnumerable<string> ParameterNames => _parts.Where(p => p.IsParameter).Select(p => p.Text);

    private bool HasParameters => _parts.Length > 1 || _parts[0].IsParameter;

    /// <summary>Parses an absolute http(s) URL; null with <paramref name="error"/> when it is not one.</summary>
    public static UrlTemplate? TryParse(string? text, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "is empty";
            return null;
        }
        var q = text.IndexOf('?', StringComparison.Ordinal);
        var (pathPart, query) = q >= 0 ? (text[..q], text[(q + 1)..]) : (text, "");
        // Placeholders make the text an invalid URI: check it with them replaced.
        var probe = pathPart.Replace("{", "x", StringComparison.Ordinal).Replace("}", "x", StringComparison.Ordinal).Replace("+", "x", StringComparison.Ordinal);
        if (!Uri.TryCreate(probe, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            error = $"'{text}' is not an absolute http:// or https:// URL";
            return null;
        }
        var hostEnd = pathPart.IndexOf('/', uri.Scheme.Length + 3);
        var origin = hostEnd < 0 ? pathPart : pathPart[..hostEnd];
        if (origin.Contains('{', StringComparison.Ordinal))
        {
            error = $"'{text}': placeholders are allowed in the path only, not in the host";
            return null;
        }
        var path = hostEnd < 0 ? "" : pathPart[hostEnd..];
        var parts = new List<Part> { new(origin, false) };
        var literal = new StringBuilder();
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '{')
            {
                var close = path.IndexOf('}', i);
                if (close < 0)
                {
                    error = $"'{text}': '{{' without '}}'";
                    return null;
                }
                var name = path[(i + 1)..close].TrimEnd('+');
                if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                {
                    error = $"'{text}': '{path[i..(close + 1)]}' is not a placeholder. Write {{name}} or {{name+}}";
                    return null;
                }
                parts[^1] = new(parts[^1].Text + literal, false);
                literal.Clear();
                parts.Add(new(name, true));
                parts.Add(new("", false));
                i = close;
            }
            else if (path[i] == '}')
            {
                error = $"'{text}': '}}' without '{{'";
                return null;
            }
            else
            {
                literal.Append(path[i]);
            }
        }
        parts[^1] = new(parts[^1].Text + literal, false);
        return new UrlTemplate(text, origin, [.. parts.Where((p, i) => p.IsParameter || p.Text.Length > 0 || i == 0)], query);
    }

    /// <summary>
    /// The URL to call. <paramref name="greedy"/> is the name of the route's greedy parameter (null: none):
    /// its value is appended when this URL has no placeholder.
    /// </summary>
    public string Build(IReadOnlyDictionary<string, string> parameters, string? greedy, QueryString clientQuery)
    {
        var appendGreedy = !HasParameters && greedy is not null && parameters.ContainsKey(greedy);
        if (!HasParameters && !appendGreedy && !clientQuery.HasValue && _query.Length == 0)
        {
            return _parts[0].Text;
        }
        var builder = new StringBuilder(Text.Length + 64);
        foreach (var part in _parts)
        {
            if (!part.IsParameter)
            {
                builder.Append(part.Text);
            }
            else if (parameters.TryGetValue(part.Text, out var value))
            {
                AppendEscaped(builder, value);
            }
        }
        if (appendGreedy)
        {
            if (builder.Length == 0 || builder[^1] != '/')
            {
                builder.Append('/');
            }
            AppendEscaped(builder, parameters[greedy!]);
        }
        if (_query.Length > 0 || clientQuery.HasValue)
        {
            builder.Append('?').Append(_query);
            if (clientQuery.HasValue && clientQuery.Value!.Length > 1)
            {
                if (_query.Length > 0)
                {
                    builder.Append('&');
                }
                builder.Append(clientQuery.Value, 1, clientQuery.Value.Length - 1);
            }
        }
        return builder.ToString();
    }

    /// <summary>Escapes each segment of a (decoded) parameter value; slashes of a greedy value stay.</summary>
    private static void AppendEscaped(StringBuilder builder, string value)
    {
        var start = 0;
        while (start <= value.Length)
        {
            var slash = value.IndexOf('/', start);
            var end = slash < 0 ? value.Length : slash;
            builder.Append(Uri.EscapeDataString(value[start..end]));
            if (slash < 0)
            {
                break;
            }
            builder.Append('/');
            start = slash + 1;
        }
    }

    private readonly record struct Part(string Text, bool IsParameter);
}
