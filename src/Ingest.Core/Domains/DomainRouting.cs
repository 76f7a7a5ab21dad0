using System.Runtime.CompilerServices;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Domains;

/// <summary>
/// The request path route matching sees: rewritten by the deployment's custom domains
/// (<see cref="DomainMap"/>), or the path as sent when there are none (no work per request then).
/// </summary>
public static class DomainRouting
{
    // One compiled map per deployed configuration; dropped with it.
    private static readonly ConditionalWeakTable<IngestConfig, DomainMap> Maps = [];

    /// <summary>
    /// Rewrites <paramref name="path"/> for the request's host. False, with the answer in
    /// <paramref name="rejection"/>, when the host is mapped but the path is under none of its base paths.
    /// </summary>
    public static bool TryRewrite(IngestConfig config, HttpRequest request, ref string path, out Rejection? rejection)
    {
        rejection = null;
        if (config.Domains.Count == 0)
        {
            return true;
        }
        var map = Maps.GetValue(config, static c => DomainMap.Compile(c)!);
        if (map.TryRewrite(HostWithoutPort(request.Host.Value), ref path))
        {
            return true;
        }
        rejection = map.UnknownBasePath;
        return false;
    }

    /// <summary>The host name of a Host header value: <c>api.example.com:8443</c> and <c>[::1]:80</c> without the port.</summary>
    public static ReadOnlySpan<char> HostWithoutPort(ReadOnlySpan<char> host)
    {
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']');
            return close > 0 ? host[..(close + 1)] : host;
        }
        var colon = host.LastIndexOf(':');
        return colon >= 0 ? host[..colon] : host;
    }
}
