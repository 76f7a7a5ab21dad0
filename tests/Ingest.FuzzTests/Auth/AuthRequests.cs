using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Ingest.TestSupport.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.FuzzTests.Auth;

/// <summary>Requests without a server, and a route's compiled authenticator.</summary>
internal static class AuthRequests
{
    public static HttpContext Http(string method, string rawTarget, byte[] body, IEnumerable<(string Name, string Value)> headers) =>
        RawRequests.Http(method, rawTarget, body, headers);

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
