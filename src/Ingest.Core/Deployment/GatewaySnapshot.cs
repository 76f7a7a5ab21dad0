using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Cors;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Routing;
using Ingest.Core.Security;
using Ingest.Core.Throttling;

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
        ClientAddress = ClientAddressResolver.Compile(config);
    }

    /// <summary>Who the client is, given trusted proxies.</summary>
    public ClientAddressResolver ClientAddress { get; }

    public IngestConfig Config { get; }

    public RouteTable<CompiledRoute> Routes { get; }

    public IReadOnlyList<CompiledRoute> RouteList { get; }

    /// <summary>Error behaviour of REST APIs (v1) rather than HTTP APIs (v2).</summary>
    public bool RestV1 { get; }

    /// <summary>Compiles a validated configuration against running targets.</summary>
    /// <param name="config">A configuration that passed <see cref="ConfigValidator"/>.</param>
    /// <param name="targets">Running targets by name.</param>
    /// <param name="kinds">Target kinds by type.</param>
    /// <param name="services">Long-lived state that deployments share (key stores, caches, limiter stores).</param>
    public static GatewaySnapshot Build(IngestConfig config, IReadOnlyDictionary<string, IEventTarget> targets, IReadOnlyDictionary<string, ITargetKind> kinds, IServiceProvider services)
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
                CapturedHeaders = route.Headers.Concat(required).Select(h => h.ToLowerInvariant()).Distinct().ToArray(),
                Ack = route.Ack ?? config.Defaults.Ack,
                Timeout = route.Timeout ?? targetOptions.Timeout ?? config.Defaults.Timeout,
                Policy = ResourcePolicy.Compile(config, route),
                Auth = RouteAuthenticator.Compile(config, route, services),
                Throttle = ThrottlePolicy.Compile(config, route, services),
                Payload = PayloadPolicy.Compile(config, route),
                Cors = CorsPolicy.Compile(route.Cors),
            });
        }
        var table = new RouteTable<CompiledRoute>(compiled.Select(r => (r.Method, r.Template, r)));
        return new GatewaySnapshot(config, table, compiled);
    }
}
