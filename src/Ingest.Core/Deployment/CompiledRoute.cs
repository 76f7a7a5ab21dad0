using Ingest.Core.Auth;
using Ingest.Core.Cors;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Routing;
using Ingest.Core.Security;
using Ingest.Core.Throttling;

namespace Ingest.Core.Deployment;

/// <summary>A route ready to serve: everything resolved, defaults applied, nothing to parse per request.</summary>
public sealed class CompiledRoute
{
    /// <summary>Route key as written, e.g. <c>POST /v1/events</c>.</summary>
    public required string RouteKey { get; init; }

    public required string Method { get; init; }

    public required RouteTemplate Template { get; init; }

    public required IEventTarget Target { get; init; }

    /// <summary>Request headers copied into the envelope, lower case.</summary>
    public required string[] CapturedHeaders { get; init; }

    public required string Ack { get; init; }

    public required TimeSpan Timeout { get; init; }

    public required ResourcePolicy Policy { get; init; }

    public required RouteAuthenticator Auth { get; init; }

    public required ThrottlePolicy Throttle { get; init; }

    public required PayloadPolicy Payload { get; init; }

    /// <summary>Null when the route has no CORS settings.</summary>
    public CorsPolicy? Cors { get; init; }
}
