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

    /// <summary>Firewall rules of this route (the gateway's, the route's, its managed sets); lifecycle step 2.</summary>
    public Firewall.RequestFirewall Firewall { get; init; } = Ingest.Core.Firewall.RequestFirewall.None;

    public required RouteAuthenticator Auth { get; init; }

    public required ThrottlePolicy Throttle { get; init; }

    public required PayloadPolicy Payload { get; init; }

    /// <summary>Null when the route has no CORS settings.</summary>
    public CorsPolicy? Cors { get; init; }

    /// <summary>Idempotency keys of this route; null when it has no <c>idempotency:</c>.</summary>
    public Idempotency.RouteIdempotency? Idempotency { get; init; }

    /// <summary>Claim check of the route's target; null when the target has no <c>claimCheck:</c>.</summary>
    public Pipeline.ClaimCheck.ClaimCheckPolicy? ClaimCheck { get; init; }

    /// <summary>Stage this route is served in (for the access log and metrics); null without stages.</summary>
    public string? Stage { get; init; }

    /// <summary>Variables of <see cref="Stage"/> (<c>${stageVariables.NAME}</c>), for targets and templates. Empty without stages.</summary>
    public IReadOnlyDictionary<string, string> StageVariables { get; init; } = EmptyVariables;

    private static readonly IReadOnlyDictionary<string, string> EmptyVariables = new Dictionary<string, string>();
}
