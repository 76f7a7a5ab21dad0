using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Auth;

/// <summary>Requests and compiled authenticators for unit tests, without a server.</summary>
internal static class AuthTestContext
{
    public static HttpContext Http(string method, string rawTarget, byte[]? body = null, params (string Name, string Value)[] headers)
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

    // Authentication steps read only the HTTP request and write the identity fields, so these
    // tests do not build a whole compiled route.
    public static RequestContext Request(HttpContext http, byte[]? body = null) =>
        new() { Http = http, Route = null!, RequestId = Guid.CreateVersion7(), Body = body };

    public static ServiceProvider Services(FakeTimeProvider time) =>
        new ServiceCollection().AddSingleton<TimeProvider>(time).AddIngestAuth().BuildServiceProvider();

    public static RouteAuthenticator Compile(string yaml, FakeTimeProvider time, IServiceProvider? services = null)
    {
        var config = ConfigLoader.Load(yaml);
        var errors = new List<string>();
        AuthValidation.Validate(config, errors);
        Assert.Empty(errors);
        return RouteAuthenticator.Compile(config, config.Routes[0], services ?? Services(time));
    }
}
