using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.TestSupport.Auth;

/// <summary>Requests as they came on the wire, built without a server: what signature checks read.</summary>
public static class RawRequests
{
    /// <summary>
    /// A request for <paramref name="rawTarget"/> (path and query exactly as sent, kept as the raw
    /// target), headers appended in order, and <paramref name="body"/> as the request body when given.
    /// </summary>
    public static HttpContext Http(string method, string rawTarget, byte[]? body, IEnumerable<(string Name, string Value)> headers)
    {
        var http = new DefaultHttpContext();
        var request = http.Request;
        request.Method = method;
        var question = rawTarget.IndexOf('?', StringComparison.Ordinal);
        request.Path = PathString.FromUriComponent(question < 0 ? rawTarget : rawTarget[..question]);
        request.QueryString = question < 0 ? QueryString.Empty : new QueryString(rawTarget[question..]);
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = rawTarget;
        foreach (var (name, value) in headers)
        {
            request.Headers.Append(name, value);
        }
        if (body is not null)
        {
            request.Body = new MemoryStream(body);
            request.ContentLength = body.Length;
        }
        return http;
    }
}
