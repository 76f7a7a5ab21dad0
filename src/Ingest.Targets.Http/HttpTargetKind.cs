using System.Net;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Core.Routing;
using Ingest.Targets.Http.Destinations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Ingest.Targets.Http;

/// <summary>The <c>http</c> target kind: <c>url</c> or <c>destinations</c>, load balancing, health checks, header rewrites.</summary>
public sealed class HttpTargetKind : ISyncTargetKind
{
    private static readonly Lazy<IHttpForwarder> OwnForwarder = new(() =>
        new ServiceCollection().AddLogging().AddHttpForwarder().BuildServiceProvider().GetRequiredService<IHttpForwarder>());

    public string Type => "http";

    public void Validate(string name, TargetOptions options, IngestConfig config, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        if (options.Url is null && options.Destinations is null)
        {
            errors.Add($"{where}: set url (e.g. http://backend:8080/items/{{id}}) or destinations: [http://a:8080, http://b:8080].");
        }
        else if (options.Url is not null && options.Destinations is not null)
        {
            errors.Add($"{where}: set url or destinations, not both (one backend: url; several: destinations).");
        }
        if (options.Url is not null && UrlTemplate.TryParse(options.Url, out var urlError) is null)
        {
            errors.Add($"{where}.url: {urlError}. Write e.g. http://backend:8080/items/{{id}}.");
        }
        if (options.Destinations is { } destinations)
        {
            if (destinations.Count == 0)
            {
                errors.Add($"{where}.destinations: empty. List at least one URL, e.g. [http://a:8080].");
            }
            for (var i = 0; i < destinations.Count; i++)
            {
                if (UrlTemplate.TryParse(destinations[i], out var error) is null)
                {
                    errors.Add($"{where}.destinations[{i}]: {error}. Write e.g. http://a:8080.");
                }
            }
        }
        if (options.LoadBalancing is { } policy && !DestinationSet.Policies.Contains(policy, StringComparer.Ordinal))
        {
            errors.Add($"{where}.loadBalancing: '{policy}' must be one of {string.Join(", ", DestinationSet.Policies)}.");
        }
        if (options.HealthCheck is { } health)
        {
            if (health.Interval <= TimeSpan.Zero)
            {
                errors.Add($"{where}.healthCheck.interval: must be above zero, e.g. 5s.");
            }
            if (health.Timeout <= TimeSpan.Zero || health.Timeout > health.Interval)
            {
                errors.Add($"{where}.healthCheck.timeout: must be above zero and at most the interval ({health.Interval.TotalSeconds:0.###}s), e.g. 2s.");
            }
            if (string.IsNullOrEmpty(health.Path) || health.Path[0] != '/' || health.Path.Any(char.IsWhiteSpace))
            {
                errors.Add($"{where}.healthCheck.path: '{health.Path}' must be a path starting with '/', e.g. /health.");
            }
        }
        ValidateHeaders($"{where}.requestHeaders", options.RequestHeaders, errors);
        ValidateHeaders($"{where}.responseHeaders", options.ResponseHeaders, errors);
    }

    public void ValidateRoute(string where, RouteOptions route, TargetOptions options, ICollection<string> errors)
    {
        var space = route.Route.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || RouteTemplate.TryParse(route.Route[(space + 1)..], out _) is not { } template)
        {
            return;
        }
        var routeParameters = template.ParameterNames.ToHashSet(StringComparer.Ordinal);
        foreach (var url in Urls(options))
        {
            foreach (var name in UrlTemplate.TryParse(url, out _)?.ParameterNames ?? [])
            {
                if (!routeParameters.Contains(name))
                {
                    errors.Add($"{where}: target '{route.Target}' url {url} uses {{{name}}}, which the route's path does not have. Add {{{name}}} to the route or remove it from the url.");
                }
            }
        }
    }

    public ISyncTarget Create(string name, TargetOptions options, SyncTargetContext context)
    {
        var urls = Urls(options).Select(u => UrlTemplate.TryParse(u, out _)!).ToList();
        var destinations = new DestinationSet(urls, options.LoadBalancing, context.TimeProvider);
        HttpMessageHandler handler = new HeadersWithBodyHandler(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            // The gateway sends its own traceparent (the one in its answer), not the ambient Activity's.
            ActivityHeadersPropagator = null,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        });
        if (context.WrapHttpHandler is { } wrap)
        {
            handler = wrap(name, handler);
        }
        var invoker = new HttpMessageInvoker(handler, disposeHandler: true);
        var logger = context.LoggerFactory.CreateLogger($"Ingest.Targets.{name}");
        var prober = options.HealthCheck is { } health
            ? new HealthProber(name, destinations, invoker, health, context.TimeProvider, logger)
            : null;
        var forwarder = context.Services.GetService<IHttpForwarder>() ?? OwnForwarder.Value;
        return new HttpTarget(name, forwarder, invoker, new ProxyTransformer(urls, options.RequestHeaders, options.ResponseHeaders), destinations, prober, context.TimeProvider);
    }

    private static IEnumerable<string> Urls(TargetOptions options) =>
        options.Destinations ?? (options.Url is { } url ? [url] : []);

    private static void ValidateHeaders(string where, HeaderRewriteOptions? rewrite, ICollection<string> errors)
    {
        if (rewrite is null)
        {
            return;
        }
        foreach (var (header, value) in rewrite.Set)
        {
            if (!IsToken(header))
            {
                errors.Add($"{where}.set: '{header}' is not a header name.");
            }
            if (value is null || value.Any(c => c is '\r' or '\n' or '\0'))
            {
                errors.Add($"{where}.set.{header}: the value must be one line of text.");
            }
        }
        foreach (var header in rewrite.Remove)
        {
            if (!IsToken(header))
            {
                errors.Add($"{where}.remove: '{header}' is not a header name.");
            }
        }
    }

    private static bool IsToken(string? name) =>
        !string.IsNullOrEmpty(name) && name.All(c => c > ' ' && c < 127 && !"()<>@,;:\\\"/[]?={}".Contains(c));
}
