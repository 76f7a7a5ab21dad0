using System.Globalization;
using Ingest.Core.Configuration;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Cors;

/// <summary>
/// A route's CORS settings: preflight <c>OPTIONS</c> answered from configuration, headers on
/// actual responses for allowed origins, nothing at all for other origins.
/// </summary>
public sealed class CorsPolicy
{
    private readonly HashSet<string> _origins;
    private readonly bool _anyOrigin;
    private readonly string _methods;
    private readonly string _headers;
    private readonly string? _maxAge;
    private readonly bool _credentials;

    private CorsPolicy(CorsOptions options)
    {
        _origins = new HashSet<string>(options.Origins, StringComparer.OrdinalIgnoreCase);
        _anyOrigin = _origins.Contains("*");
        _methods = string.Join(", ", options.Methods.Select(m => m.ToUpperInvariant()));
        _headers = string.Join(", ", options.Headers);
        _maxAge = options.MaxAge?.ToString(CultureInfo.InvariantCulture);
        _credentials = options.Credentials;
    }

    public static CorsPolicy? Compile(CorsOptions? options) => options is null ? null : new CorsPolicy(options);

    /// <summary>True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.</summary>
    public static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method)
        && request.Headers.ContainsKey("Origin")
        && request.Headers.ContainsKey("Access-Control-Request-Method");

    /// <summary>Answers a preflight: 204 with the allowed methods and headers, or 204 without CORS headers for other origins.</summary>
    public void WritePreflight(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status204NoContent;
        if (!TryAllowOrigin(context))
        {
            return;
        }
        response.Headers.AccessControlAllowMethods = _methods;
        if (_headers.Length > 0)
        {
            response.Headers.AccessControlAllowHeaders = _headers;
        }
        if (_maxAge is not null)
        {
            response.Headers.AccessControlMaxAge = _maxAge;
        }
    }

    /// <summary>Adds the CORS headers of an actual (non-preflight) response.</summary>
    public void ApplyHeaders(HttpContext context) => TryAllowOrigin(context);

    private bool TryAllowOrigin(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || !(_anyOrigin || _origins.Contains(origin)))
        {
            return false;
        }
        var headers = context.Response.Headers;
        // With credentials the origin must be echoed, never "*".
        headers.AccessControlAllowOrigin = _anyOrigin && !_credentials ? "*" : origin;
        if (!_anyOrigin || _credentials)
        {
            headers.Vary = "Origin";
        }
        if (_credentials)
        {
            headers.AccessControlAllowCredentials = "true";
        }
        return true;
    }
}
