namespace Ingest.Core.Routing;

/// <summary>What the route table answers for one request.</summary>
public enum RouteMatchKind : byte
{
    /// <summary>A route matched path and method.</summary>
    Found,

    /// <summary>The path matched a route, but not with this method.</summary>
    MethodNotAllowed,

    /// <summary>No route has this path.</summary>
    NotFound,
}

/// <summary>
/// Immutable route lookup: exact literal paths through a dictionary, templates in order of
/// specificity. Built once per deployment.
/// </summary>
/// <typeparam name="TRoute">What a route resolves to.</typeparam>
public sealed class RouteTable<TRoute> where TRoute : class
{
    private readonly Dictionary<string, PathEntry> _literal;
    private readonly PathEntry[] _templates;

    /// <summary>Builds the table from (method, template, route) triples. Method "ANY" matches every method.</summary>
    public RouteTable(IEnumerable<(string Method, RouteTemplate Template, TRoute Route)> routes)
    {
        var byPath = new Dictionary<string, PathEntry>(StringComparer.Ordinal);
        foreach (var (method, template, route) in routes)
        {
            if (!byPath.TryGetValue(template.Text, out var entry))
            {
                entry = new PathEntry(template);
                byPath.Add(template.Text, entry);
            }
            entry.Add(method, route);
        }
        foreach (var entry in byPath.Values)
        {
            entry.Freeze();
        }
        _literal = byPath.Values.Where(e => e.Template.IsLiteral).ToDictionary(e => e.Template.Text, StringComparer.Ordinal);
        _templates = byPath.Values.Where(e => !e.Template.IsLiteral)
            .OrderByDescending(e => e.Template.SegmentCount)
            .ThenByDescending(e => e.Template.Specificity)
            .ToArray();
    }

    /// <summary>Finds the route for a method and path. <paramref name="allow"/> lists the path's methods on 405.</summary>
    public RouteMatchKind Match(string method, string path, out TRoute? route, out RouteTemplate? template, out string? allow)
    {
        route = null;
        allow = null;
        template = null;
        var sawPath = false;
        if (_literal.TryGetValue(path, out var exact))
        {
            sawPath = true;
            if (exact.TryGet(method, out route))
            {
                template = exact.Template;
                return RouteMatchKind.Found;
            }
            allow = exact.Allow;
        }
        foreach (var entry in _templates)
        {
            if (!entry.Template.Matches(path))
            {
                continue;
            }
            if (entry.TryGet(method, out route))
            {
                template = entry.Template;
                return RouteMatchKind.Found;
            }
            if (!sawPath)
            {
                sawPath = true;
                allow = entry.Allow;
            }
        }
        return sawPath ? RouteMatchKind.MethodNotAllowed : RouteMatchKind.NotFound;
    }

    private sealed class PathEntry(RouteTemplate template)
    {
        private readonly Dictionary<string, TRoute> _byMethod = new(StringComparer.OrdinalIgnoreCase);
        private TRoute? _any;

        public RouteTemplate Template { get; } = template;

        public string Allow { get; private set; } = "";

        public void Add(string method, TRoute route)
        {
            if (method == "ANY")
            {
                _any = route;
            }
            else
            {
                _byMethod[method] = route;
            }
        }

        public void Freeze() =>
            Allow = _any is not null ? "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT" : string.Join(", ", _byMethod.Keys.Order(StringComparer.Ordinal));

        public bool TryGet(string method, out TRoute? route)
        {
            if (_byMethod.TryGetValue(method, out route))
            {
                return true;
            }
            route = _any;
            return route is not null;
        }
    }
}
