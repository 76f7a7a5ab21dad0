using System.Globalization;
using Ingest.Core.Configuration;
using Ingest.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Cors;

/// <summary>
/// A route's CORS settings: preflight <c>OPTIONS</c> answered from configuration (before auth,
/// as API Gateway does), headers on actual responses (accepted and rejected alike) for allowed
/// origins, no CORS headers at all for other origins. All header values are built once.
/// </summary>
public sealed class CorsPolicy
{
    private readonly HashSet<string> _origins;
    private readonly bool _anyOrigin;
    private readonly string? _methods;
    private readonly string? _headers;
    private readonly bool _anyHeader;
    private readonly string? _exposeHeaders;
    private readonly string? _maxAge;
    private readonly bool _credentials;

    private CorsPolicy(CorsOptions options)
    {
        _origins = new HashSet<string>(options.Origins.Select(o => o.Trim()), StringComparer.OrdinalIgnoreCase);
        _anyOrigin = _origins.Contains("*");
        // No methods listed, or "*": the method asked for (the preflight is only answered when a
        // route of the path takes that method, so that is the route's own method list).
        _methods = options.Methods.Count == 0 || options.Methods.Contains("*")
            ? null
            : string.Join(", ", options.Methods.Select(m => m.Trim().ToUpperInvariant()));
        _anyHeader = options.Headers.Contains("*");
        _headers = _anyHeader || options.Headers.Count == 0 ? null : string.Join(", ", options.Headers.Select(h => h.Trim()));
        _exposeHeaders = options.ExposeHeaders.Count == 0 ? null : string.Join(", ", options.ExposeHeaders.Select(h => h.Trim()));
        _maxAge = options.MaxAge?.ToString(CultureInfo.InvariantCulture);
        _credentials = options.Credentials;
    }

    public static CorsPolicy? Compile(CorsOptions? options) => options is null ? null : new CorsPolicy(options);

    /// <summary>True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.</summary>
    public static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method)
        && request.Headers.ContainsKey("Origin")
        && request.Headers.ContainsKey("Access-Control-Request-Method");

    /// <summary>
    /// The route a preflight asks about: the one serving <c>Access-Control-Request-Method</c> on
    /// the path. Null when there is none; the OPTIONS request then gets the usual 404/405.
    /// </summary>
    public static TRoute? PreflightRoute<TRoute>(RouteTable<TRoute> routes, HttpRequest request, string path)
        where TRoute : class =>
        RequestedMethod(request) is { } method && routes.Match(method, path, out var route, out _, out _) == RouteMatchKind.Found
            ? route
            : null;

    /// <summary>The method a preflight asks about, or null.</summary>
    public static string? RequestedMethod(HttpRequest request)
    {
        var method = request.Headers.AccessControlRequestMethod;
        return method.Count == 1 && !string.IsNullOrWhiteSpace(method[0]) ? method[0]!.Trim() : null;
    }

    /// <summary>Answers a preflight: 204 with the allowed methods and headers, or 204 without CORS headers for other origins.</summary>
    public void WritePreflight(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status204NoContent;
        var headers = response.Headers;
        // The answer depends on these request headers: tell caches.
        headers.Append("Vary", "Origin");
        if (_methods is null)
        {
            headers.Append("Vary", "Access-Control-Request-Method");
        }
        if (_anyHeader)
        {
            headers.Append("Vary", "Access-Control-Request-Headers");
        }
        if (!TryAllowOrigin(context))
        {
            return;
        }
        var request = context.Request.Headers;
        headers.AccessControlAllowMethods = _methods ?? request.AccessControlRequestMethod;
        if (_anyHeader)
        {
            // "*" is not honoured by browsers on credentialed requests: name what was asked for.
            if (request.AccessControlRequestHeaders.Count > 0)
            {
                headers.AccessControlAllowHeaders = request.AccessControlRequestHeaders;
            }
        }
        else if (_headers is not null)
        {
            headers.AccessControlAllowHeaders = _headers;
        }
        if (_maxAge is not null)
        {
            headers.AccessControlMaxAge = _maxAge;
        }
    }

    /// <summary>Adds the CORS headers of an actual (non-preflight) response.</summary>
    public void ApplyHeaders(HttpContext context)
    {
        if (!_anyOrigin || _credentials)
        {
            context.Response.Headers.Append("Vary", "Origin");
        }
        if (TryAllowOrigin(context) && _exposeHeaders is not null)
        {
            context.Response.Headers.AccessControlExposeHeaders = _exposeHeaders;
        }
    }

    /// <summary>True when <paramref name="origin"/> may call the route.</summary>
    public bool AllowsOrigin(StringValues origin) =>
        origin.Count == 1 && !string.IsNullOrEmpty(origin[0]) && (_anyOrigin || _origins.Contains(origin[0]!));

    private bool TryAllowOrigin(HttpContext context)
    {
        var origin = context.Request.Headers.Origin;
        if (!AllowsOrigin(origin))
        {
            return false;
        }
        var headers = context.Response.Headers;
        // With credentials the origin must be echoed, never "*" (validation refuses "*" with credentials).
        headers.AccessControlAllowOrigin = _anyOrigin && !_credentials ? "*" : origin;
        if (_credentials)
        {
            headers.AccessControlAllowCredentials = "true";
        }
        return true;
    }
}
