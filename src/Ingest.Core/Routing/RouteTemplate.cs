namespace Ingest.Core.Routing;

/// <summary>
/// A path template: literal segments, <c>{name}</c> (one segment) and a final greedy
/// <c>{name+}</c> (the rest of the path, at least one segment). Matching walks the path
/// once and allocates nothing; parameter values are extracted only when asked for.
/// </summary>
public sealed class RouteTemplate
{
    private readonly Segment[] _segments;

    private RouteTemplate(string text, Segment[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>True when the template has no parameters.</summary>
    public bool IsLiteral => Array.TrueForAll(_segments, s => s.Kind == SegmentKind.Literal);

    /// <summary>Parameter names, in order.</summary>
    public IEnumerable<string> ParameterNames => _segments.Where(s => s.Kind != SegmentKind.Literal).Select(s => s.Value);

    /// <summary>Literal segments first, then parameters, then greedy: the more specific template wins.</summary>
    internal int Specificity
    {
        get
        {
            var score = 0;
            foreach (var s in _segments)
            {
                score = score * 3 + (s.Kind switch { SegmentKind.Literal => 2, SegmentKind.Parameter => 1, _ => 0 });
            }
            return score;
        }
    }

    internal int SegmentCount => _segments.Length;

    /// <summary>Parses a template, or returns the reason it is not valid.</summary>
    public static RouteTemplate? TryParse(string text, out string? error)
    {
        error = null;
        if (!text.StartsWith('/'))
        {
            error = "the path must start with '/'";
            return null;
        }
        var parts = text.Length == 1 ? [] : text[1..].Split('/');
        var segments = new Segment[parts.Length];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length == 0)
            {
                error = "empty path segment ('//' or a trailing '/')";
                return null;
            }
            if (part[0] == '{')
            {
                if (part[^1] != '}' || part.Length < 3)
                {
                    error = $"segment '{part}' must be a whole {{name}}";
                    return null;
                }
                var greedy = part[^2] == '+';
                var name = part[1..(greedy ? ^2 : ^1)];
                if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                {
                    error = $"parameter '{part}' needs a name of letters, digits, '_' or '-'";
                    return null;
                }
                if (!names.Add(name))
                {
                    error = $"parameter '{name}' appears twice";
                    return null;
                }
                if (greedy && i != parts.Length - 1)
                {
                    error = $"greedy parameter '{part}' must be the last segment";
                    return null;
                }
                segments[i] = new Segment(greedy ? SegmentKind.Greedy : SegmentKind.Parameter, name);
            }
            else
            {
                if (part.Contains('{') || part.Contains('}'))
                {
                    error = $"segment '{part}' mixes text and a parameter; use a whole segment {{name}}";
                    return null;
                }
                segments[i] = new Segment(SegmentKind.Literal, part);
            }
        }
        return new RouteTemplate(text, segments);
    }

    /// <summary>True when <paramref name="path"/> matches. Allocation-free.</summary>
    public bool Matches(ReadOnlySpan<char> path) => Walk(path, null);

    /// <summary>Extracts parameter values (after a successful match).</summary>
    public bool TryGetValues(string path, IDictionary<string, string> values) => Walk(path, values);

    private bool Walk(ReadOnlySpan<char> path, IDictionary<string, string>? values)
    {
        if (path.IsEmpty || path[0] != '/')
        {
            return false;
        }
        var rest = path[1..];
        for (var i = 0; i < _segments.Length; i++)
        {
            var segment = _segments[i];
            if (segment.Kind == SegmentKind.Greedy)
            {
                if (rest.IsEmpty)
                {
                    return false;
                }
                values?.Add(segment.Value, Uri.UnescapeDataString(rest.ToString()));
                return true;
            }
            var slash = rest.IndexOf('/');
            var current = slash < 0 ? rest : rest[..slash];
            if (current.IsEmpty)
            {
                return false;
            }
            if (segment.Kind == SegmentKind.Literal)
            {
                if (!current.SequenceEqual(segment.Value))
                {
                    return false;
                }
            }
            else
            {
                values?.Add(segment.Value, Uri.UnescapeDataString(current.ToString()));
            }
            if (slash < 0)
            {
                return i == _segments.Length - 1;
            }
            rest = rest[(slash + 1)..];
        }
        // All segments consumed: only "/" itself is left for the root template.
        return _segments.Length == 0 && rest.IsEmpty;
    }

    private enum SegmentKind : byte
    {
        Literal,
        Parameter,
        Greedy,
    }

    private readonly record struct Segment(SegmentKind Kind, string Value);
}
