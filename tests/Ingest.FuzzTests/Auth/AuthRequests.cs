using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.FuzzTests.Auth;

/// <summary>Requests without a server, and a route's compiled authenticator.</summary>
internal static class AuthRequests
{
    public static HttpContext Http(string method, string rawTarget, byte[] body, IEnumerable<(string Name, string Value)> headers)
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
        request.Body = new MemoryStream(body);
        request.ContentLength = body.Length;
        return http;
    }

    // Authentication steps read only the request and write the identity fields.
    public static RequestContext Context(HttpContext http, byte[] body) =>
        new() { Http = http, Route = null!, RequestId = Guid.CreateVersion7(), Body = body };

    public static RouteAuthenticator Compile(string yaml, FakeTimeProvider time)
    {
        var config = ConfigLoader.Load(yaml);
        var errors = new List<string>();
        AuthValidation.Validate(config, errors);
        Assert.Empty(errors);
        var services = new ServiceCollection().AddSingleton<TimeProvider>(time).AddIngestAuth().BuildServiceProvider();
        return RouteAuthenticator.Compile(config, config.Routes[0], services);
    }
}
