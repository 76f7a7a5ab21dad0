using Ingest.Core.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Ingest.Targets.Http;

/// <summary>
/// What changes on the way through an http target: the backend URL (built per call and passed
/// as the destination prefix), Host set to the backend's, X-Forwarded-For/Proto/Host added,
/// the target's <c>requestHeaders</c> / <c>responseHeaders</c> applied. The gateway's own
/// <c>x-request-id</c> and <c>traceparent</c> answer headers win over the backend's.
/// Hop-by-hop headers are YARP's business.
/// </summary>
internal sealed class ProxyTransformer(IReadOnlyList<UrlTemplate> urls, HeaderRewriteOptions? requestHeaders, HeaderRewriteOptions? responseHeaders) : HttpTransformer
{
    private readonly KeyValuePair<string, string>[] _setRequest = [.. requestHeaders?.Set ?? []];
    private readonly string[] _removeRequest = [.. requestHeaders?.Remove ?? []];
    private readonly KeyValuePair<string, string>[] _setResponse = [.. responseHeaders?.Set ?? []];
    private readonly string[] _removeResponse = [.. responseHeaders?.Remove ?? []];


    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        // destinationPrefix is the whole URL of this call (path parameters and query filled in).
        proxyRequest.RequestUri = UriOf(destinationPrefix);
        var headers = proxyRequest.Headers;
        headers.Host = null;
        var request = httpContext.Request;
        var clientIp = httpContext.Connection.RemoteIpAddress?.ToString();
        if (clientIp is not null)
        {
            var prior = request.Headers["X-Forwarded-For"];
            headers.Remove("X-Forwarded-For");
            headers.TryAddWithoutValidation("X-Forwarded-For", StringValues.IsNullOrEmpty(prior) ? clientIp : $"{prior}, {clientIp}");
        }
        headers.Remove("X-Forwarded-Proto");
        headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);
        if (request.Host.HasValue)
        {
            headers.Remove("X-Forwarded-Host");
            headers.TryAddWithoutValidation("X-Forwarded-Host", request.Host.Value);
        }
        foreach (var name in _removeRequest)
        {
            headers.Remove(name);
            proxyRequest.Content?.Headers.Remove(name);
        }
        foreach (var (name, value) in _setRequest)
        {
            headers.Remove(name);
            if (!headers.TryAddWithoutValidation(name, value) && proxyRequest.Content is { } content)
            {
                // Content-Type, Content-Language and the like belong to the content.
                content.Headers.Remove(name);
                content.Headers.TryAddWithoutValidation(name, value);
            }
        }
    }

    /// <summary>A destination's URL parsed once when the call added nothing to it, else parsed now.</summary>
    private Uri UriOf(string url)
    {
        foreach (var template in urls)
        {
            if (template.FixedUri is { } fixedUri && string.Equals(fixedUri.OriginalString, url, StringComparison.Ordinal))
            {
                return fixedUri;
            }
        }
        return new Uri(url, UriKind.Absolute);
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var headers = httpContext.Response.Headers;
        var requestId = headers["x-request-id"];
        var traceParent = headers.TraceParent;
        var copy = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (proxyResponse is null)
        {
            return copy;
        }
        headers["x-request-id"] = requestId;
        headers.TraceParent = traceParent;
        foreach (var name in _removeResponse)
        {
            headers.Remove(name);
        }
        foreach (var (name, value) in _setResponse)
        {
            headers[name] = value;
        }
        return copy;
    }
}
