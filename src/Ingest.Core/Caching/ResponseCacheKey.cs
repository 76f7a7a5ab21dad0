using System.Globalization;
using System.Text;
using Ingest.Core.Integration;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Caching;

/// <summary>
/// How a route's cache key is made: the route (by a fingerprint of its settings and stage), the
/// request method, and the values of the chosen parameters (<c>path:NAME</c>, <c>query:NAME</c>,
/// <c>header:NAME</c>; default: every path parameter). Never the raw URL, so query parameters that
/// are not listed do not split entries. Values are length-prefixed: no value can forge another's key.
/// </summary>
public sealed class ResponseCacheKey
{
    [ThreadStatic]
    private static StringBuilder? t_builder;

    private readonly string _prefix;
    private readonly Parameter[] _parameters;

    private ResponseCacheKey(string prefix, Parameter[] parameters)
    {
        _prefix = prefix;
        _parameters = parameters;
    }

    /// <summary>The parameters, as <c>kind:name</c>.</summary>
    public IEnumerable<string> Parameters => _parameters.Select(p => $"{p.Kind switch { Source.Path => "path", Source.Query => "query", _ => "header" }}:{p.Name}");

    /// <summary>Kinds of <c>cache.keys</c> entries.</summary>
    public static readonly string[] Kinds = ["path", "query", "header"];

    /// <summary>
    /// The key of a route: <paramref name="prefix"/> names the route (route key, stage, settings);
    /// <paramref name="keys"/> are <c>kind:NAME</c> entries (validated); empty: <paramref name="pathParameters"/>.
    /// </summary>
    public static ResponseCacheKey Compile(string prefix, IReadOnlyList<string> keys, IEnumerable<string> pathParameters)
    {
        var parameters = keys.Count == 0
            ? pathParameters.Select(name => new Parameter(Source.Path, name)).ToArray()
            : keys.Select(Parse).ToArray();
        return new ResponseCacheKey(prefix, parameters);
    }

    /// <summary>Splits <c>kind:NAME</c>; null when <paramref name="entry"/> is not one.</summary>
    public static (string Kind, string Name)? TryParse(string? entry)
    {
        var colon = entry?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon <= 0 || colon == entry!.Length - 1)
        {
            return null;
        }
        var kind = entry[..colon];
        return Kinds.Contains(kind, StringComparer.Ordinal) ? (kind, entry[(colon + 1)..]) : null;
    }

    /// <summary>The cache key of <paramref name="request"/>.</summary>
    public string For(IntegrationRequest request)
    {
        var http = request.Context.Http.Request;
        var builder = t_builder ??= new StringBuilder(256);
        builder.Clear();
        builder.Append(_prefix).Append(http.Method).Append('\n');
        foreach (var parameter in _parameters)
        {
            switch (parameter.Kind)
            {
                case Source.Path:
                    var found = request.PathParameters.TryGetValue(parameter.Name, out var value);
                    Append(builder, found ? new StringValues(value) : default, found);
                    break;
                case Source.Query:
                    var inQuery = http.Query.TryGetValue(parameter.Name, out var query);
                    Append(builder, query, inQuery);
                    break;
                default:
                    var inHeaders = http.Headers.TryGetValue(parameter.Name, out var header);
                    Append(builder, header, inHeaders);
                    break;
            }
        }
        var key = builder.ToString();
        if (builder.Capacity > 4096)
        {
            // A huge header once should not pin its buffer on this thread forever.
            t_builder = null;
        }
        return key;
    }

    // Absent: "-;"; present: count, then each value as length:value.
    private static void Append(StringBuilder builder, StringValues values, bool present)
    {
        if (!present)
        {
            builder.Append("-;");
            return;
        }
        builder.Append(values.Count.ToString(CultureInfo.InvariantCulture)).Append(';');
        foreach (var value in values)
        {
            var text = value ?? "";
            builder.Append(text.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(text);
        }
    }

    private static Parameter Parse(string entry)
    {
        var (kind, name) = TryParse(entry) ?? throw new ArgumentException($"'{entry}' is not kind:NAME", nameof(entry));
        return new Parameter(kind switch { "path" => Source.Path, "query" => Source.Query, _ => Source.Header }, name);
    }

    private enum Source : byte
    {
        Path,
        Query,
        Header,
    }

    private readonly record struct Parameter(Source Kind, string Name);
}
