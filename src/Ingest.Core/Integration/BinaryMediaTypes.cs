namespace Ingest.Core.Integration;

/// <summary>
/// The root <c>binaryMediaTypes</c>: exact types (<c>image/png</c>), type wildcards (<c>image/*</c>)
/// and <c>*/*</c>. Parameters of a content type (<c>; charset=...</c>) are ignored; case does not matter.
/// </summary>
public sealed class BinaryMediaTypes
{
    /// <summary>No binary types: every body is text.</summary>
    public static readonly BinaryMediaTypes None = new([]);

    private readonly string[] _exact;
    private readonly string[] _prefixes;
    private readonly bool _all;

    private BinaryMediaTypes(IReadOnlyCollection<string> types)
    {
        var exact = new List<string>();
        var prefixes = new List<string>();
        foreach (var type in types)
        {
            var t = type.Trim();
            if (t == "*/*")
            {
                _all = true;
            }
            else if (t.EndsWith("/*", StringComparison.Ordinal))
            {
                prefixes.Add(t[..^1]);
            }
            else if (t.Length > 0)
            {
                exact.Add(t);
            }
        }
        _exact = [.. exact];
        _prefixes = [.. prefixes];
    }

    /// <summary>The matcher of <paramref name="types"/>.</summary>
    public static BinaryMediaTypes Compile(IReadOnlyCollection<string> types) => types.Count == 0 ? None : new(types);

    /// <summary>True when <paramref name="contentType"/> is one of the binary types.</summary>
    public bool IsBinary(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType) || (_exact.Length == 0 && _prefixes.Length == 0 && !_all))
        {
            return false;
        }
        if (_all)
        {
            return true;
        }
        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        var media = (semicolon >= 0 ? span[..semicolon] : span).Trim();
        foreach (var exact in _exact)
        {
            if (media.Equals(exact, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        foreach (var prefix in _prefixes)
        {
            if (media.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && media.Length > prefix.Length)
            {
                return true;
            }
        }
        return false;
    }
}
