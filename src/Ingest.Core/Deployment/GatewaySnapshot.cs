using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Core.Routing;

namespace Ingest.Core.Deployment;

/// <summary>
/// One immutable deployment: the route table and the settings requests read. Swapped as a whole,
/// so a request sees either the old or the new configuration, never a mix.
/// </summary>
public sealed class GatewaySnapshot
{
    private GatewaySnapshot(IngestConfig config, RouteTable<CompiledRoute> routes, IReadOnlyList<CompiledRoute> routeList)
    {
        Config = config;
        Routes = routes;
        RouteList = routeList;
        RestV1 = config.Compat == "rest-v1";
    }

    public IngestConfig Config { get; }

    public RouteTable<CompiledRoute> Routes { get; }

    public IReadOnlyList<CompiledRoute> RouteList { get; }

    /// <summary>Error behaviour of REST APIs (v1) rather than HTTP APIs (v2).</summary>
    public bool RestV1 { get; }

    /// <summary>Largest body any route accepts.</summary>
    public long MaxBodyBytes => RouteList.Count == 0 ? Config.Defaults.MaxBodyBytes : RouteList.Max(r => r.MaxBodyBytes);

    /// <summary>Compiles a validated configuration against running targets.</summary>
    public static GatewaySnapshot Build(IngestConfig config, IReadOnlyDictionary<string, IEventTarget> targets, IReadOnlyDictionary<string, ITargetKind> kinds)
    {
        var compiled = new List<CompiledRoute>();
        foreach (var route in config.Routes)
        {
            var space = route.Route.IndexOf(' ', StringComparison.Ordinal);
            var method = route.Route[..space];
            var template = RouteTemplate.TryParse(route.Route[(space + 1)..], out _)!;
            var targetOptions = config.Targets[route.Target];
            var required = kinds.TryGetValue(targetOptions.Type, out var kind) ? kind.RequiredHeaders(targetOptions) : [];
            compiled.Add(new CompiledRoute
            {
                RouteKey = route.Route,
                Method = method,
                Template = template,
                Target = targets[route.Target],
                MaxBodyBytes = route.MaxBodyBytes ?? config.Defaults.MaxBodyBytes,
                ContentTypes = (route.ContentTypes ?? config.Defaults.ContentTypes).Select(c => c.Trim().ToLowerInvariant()).ToArray(),
                CapturedHeaders = route.Headers.Concat(required).Select(h => h.ToLowerInvariant()).Distinct().ToArray(),
                Ack = route.Ack ?? config.Defaults.Ack,
                Timeout = route.Timeout ?? targetOptions.Timeout ?? config.Defaults.Timeout,
            });
        }
        var table = new RouteTable<CompiledRoute>(compiled.Select(r => (r.Method, r.Template, r)));
        return new GatewaySnapshot(config, table, compiled);
    }
}
