using Ingest.Core.Configuration;
using Ingest.Core.Requests;

namespace Ingest.Core.Auth;

/// <summary>
/// The route's <c>auth:</c> list; every kind listed must pass. Sets the API key id and principal
/// on the request context. Compiled once per deployment; shared state (JWKS, authorizer caches)
/// comes from services that outlive deployments.
/// </summary>
public sealed class RouteAuthenticator
{
    private RouteAuthenticator()
    {
    }

    /// <summary>The authenticator of <c>auth: none</c>.</summary>
    public static RouteAuthenticator None { get; } = new();

    public static RouteAuthenticator Compile(IngestConfig config, RouteOptions route, IServiceProvider services) => None;

    /// <summary>True when a kind signs the body (iam, hmac): the body is read before authentication.</summary>
    public bool NeedsBody => false;

    /// <summary>Null when the request may pass; else the 401/403 to answer.</summary>
    public ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken) => ValueTask.FromResult<Rejection?>(null);
}
