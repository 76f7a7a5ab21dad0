using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Cors;
using Ingest.Core.Firewall;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Routing;
using Ingest.Core.Security;
using Ingest.Core.Throttling;
using Ingest.Core.WebSockets;

namespace Ingest.Core.Deployment;

/// <summary>
/// One immutable deployment: the route table and the settings requests read. Swapped as a whole,
/// so a request sees either the old or the new configuration, never a mix.
/// </summary>
public sealed class GatewaySnapshot
{
    private readonly Dictionary<string, RouteTable<CompiledRoute>>? _hostRoutes;
    private int _inFlight;

    private GatewaySnapshot(IngestConfig config, RouteTable<CompiledRoute> routes, IReadOnlyList<CompiledRoute> routeList, Dictionary<string, RouteTable<CompiledRoute>>? hostRoutes)
    {
        Config = config;
        Routes = routes;
        RouteList = routeList;
        _hostRoutes = hostRoutes;
        RestV1 = config.Compat == "rest-v1";
        ClientAddress = ClientAddressResolver.Compile(config);
    }

    /// <summary>Requests being served from this snapshot (see <see cref="Enter"/>).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Counts a request in; a replaced snapshot retires its targets once none is left.</summary>
    public void Enter() => Interlocked.Increment(ref _inFlight);

    /// <summary>Counts a request out.</summary>
    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>
    /// The table for a request: a stage's own table (routes without the stage prefix) when the
    /// request's host is one of the stage's <c>hosts</c>, else <see cref="Routes"/>.
    /// </summary>
    public RouteTable<CompiledRoute> RoutesFor(Microsoft.AspNetCore.Http.HttpRequest request) =>
        _hostRoutes is not null && _hostRoutes.TryGetValue(request.Host.Host, out var staged) ? staged : Routes;

    /// <summary>Who the client is, given trusted proxies.</summary>
    public ClientAddressResolver ClientAddress { get; }

    /// <summary>Firewall rules of requests that match no route (<c>firewall.gateway</c>); matched routes carry their own.</summary>
    public RequestFirewall Firewall { get; private init; } = RequestFirewall.None;

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
        IReadOnlyList<StageOptions?> stages = config.Stages.Count > 0 ? config.Stages : new StageOptions?[] { null };
        var hostRoutes = new Dictionary<string, RouteTable<CompiledRoute>>(StringComparer.OrdinalIgnoreCase);
        var instances = StagesTargets.Instances(config);
        var shared = config.Routes.Select(route => CompileShared(config, route, services)).ToList();
        // Validation reported template errors already; compiled once, shared by every stage.
        var templateErrors = new List<string>();
        var templates = config.Routes.Select((route, i) => (
            Request: Templates.MappingTemplate.Compile(route.RequestTemplate, $"routes[{i}] ({route.Route}).requestTemplate", templateErrors),
            Response: Templates.MappingTemplate.Compile(route.ResponseTemplate, $"routes[{i}] ({route.Route}).responseTemplate", templateErrors))).ToList();
        var binaryMediaTypes = Integration.BinaryMediaTypes.Compile(config.BinaryMediaTypes);
        foreach (var stage in stages)
        {
            var staged = new List<CompiledRoute>(config.Routes.Count);
            for (var i = 0; i < config.Routes.Count; i++)
            {
                var route = config.Routes[i];
                var template = shared[i].Template;
                var targetOptions = config.Targets[route.Target];
                var required = kinds.TryGetValue(targetOptions.Type, out var kind) ? kind.RequiredHeaders(targetOptions) : [];
                var target = targets[StagesTargets.InstanceName(instances, route.Target, stage?.Name)];
                staged.Add(new CompiledRoute
                {
                    RouteKey = route.Route,
                    Method = shared[i].Method,
                    Template = stage is null ? template : StagePrefixed(stage.Name, template),
                    Target = target,
                    SyncTarget = Caching.CachingSyncTarget.Wrap((target as Integration.SyncTargetSlot)?.Target, config, route, stage, services),
                    RequestTemplate = templates[i].Request,
                    ResponseTemplate = templates[i].Response,
                    BufferResponse = templates[i].Response is not null || route.Cache is { Enabled: true },
                    BinaryMediaTypes = binaryMediaTypes,
                    ConfiguredTemplate = template,
                    CapturedHeaders = route.Headers.Concat(required).Select(h => h.ToLowerInvariant()).Distinct().ToArray(),
                    Ack = route.Ack ?? config.Defaults.Ack,
                    Timeout = route.Timeout ?? targetOptions.Timeout ?? config.Defaults.Timeout,
                    Policy = shared[i].Policy,
                    Firewall = RequestFirewall.Compile(config, route, services),
                    Auth = shared[i].Auth,
                    Throttle = ThrottlePolicy.Compile(config, route, services, stage),
                    Payload = shared[i].Payload,
                    Cors = shared[i].Cors,
                    Idempotency = Idempotency.RouteIdempotency.Compile(config, route, services, stage?.Name),
                    ClaimCheck = Pipeline.ClaimCheck.ClaimCheckPolicy.Compile(config, route.Target, kinds, services),
                    Stage = stage?.Name,
                    StageVariables = stage?.Variables ?? EmptyVariables,
                });
            }
            compiled.AddRange(staged);
            if (stage is { Hosts.Count: > 0 })
            {
                // On the stage's own host names the routes are served without the prefix.
                var table = new RouteTable<CompiledRoute>(staged.Select((r, i) => (r.Method, shared[i].Template, r)).Where(t => t.Method != WebSocketRouteKey.Method));
                foreach (var host in stage.Hosts)
                {
                    hostRoutes[host] = table;
                }
            }
        }
        // WEBSOCKET routes are served by the WebSocket endpoint, not matched by method and path.
        var routes = new RouteTable<CompiledRoute>(compiled.Where(r => r.Method != WebSocketRouteKey.Method).Select(r => (r.Method, r.Template, r)));
        return new GatewaySnapshot(config, routes, compiled, hostRoutes.Count > 0 ? hostRoutes : null)
        {
            Firewall = RequestFirewall.Compile(config, null, services),
        };
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyVariables = new Dictionary<string, string>();

    /// <summary>What a route compiles to once, whatever the stage.</summary>
    private static (string Method, RouteTemplate Template, ResourcePolicy Policy, RouteAuthenticator Auth, PayloadPolicy Payload, CorsPolicy? Cors) CompileShared(
        IngestConfig config, RouteOptions route, IServiceProvider services)
    {
        var space = route.Route.IndexOf(' ', StringComparison.Ordinal);
        return (
            route.Route[..space],
            // A WebSocket route's template is the upgrade path its connections come through.
            RouteTemplate.TryParse(WebSocketRouteKey.IsWebSocket(route.Route) ? config.WebSocket.Path : route.Route[(space + 1)..], out _)!,
            ResourcePolicy.Compile(config, route),
            RouteAuthenticator.Compile(config, route, services),
            PayloadPolicy.Compile(config, route),
            CorsPolicy.Compile(route.Cors));
    }

    /// <summary><c>/v1/events</c> served in stage <c>prod</c> is <c>/prod/v1/events</c>.</summary>
    private static RouteTemplate StagePrefixed(string stage, RouteTemplate template) =>
        RouteTemplate.TryParse(template.Text == "/" ? $"/{stage}" : $"/{stage}{template.Text}", out _)!;
}
