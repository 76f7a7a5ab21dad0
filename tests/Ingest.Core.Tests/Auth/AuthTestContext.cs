using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Auth;

/// <summary>Requests and compiled authenticators for unit tests, without a server.</summary>
internal static class AuthTestContext
{
    public static HttpContext Http(string method, string rawTarget, byte[]? body = null, params (string Name, string Value)[] headers) =>
        RawRequests.Http(method, rawTarget, body, headers);

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
