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

    /// <summary>The running target. For a sync route, the <see cref="Integration.SyncTargetSlot"/> holding <see cref="SyncTarget"/> (it takes no events).</summary>
    public required IEventTarget Target { get; init; }

    /// <summary>The request/response backend of a sync route; null for queue and stream routes.</summary>
    public Integration.ISyncTarget? SyncTarget { get; init; }

    /// <summary>Sync routes: the compiled <c>requestTemplate</c>; null: pass through.</summary>
    public Templates.MappingTemplate? RequestTemplate { get; init; }

    /// <summary>Sync routes: the compiled <c>responseTemplate</c>; null: pass through.</summary>
    public Templates.MappingTemplate? ResponseTemplate { get; init; }

    /// <summary>Sync routes: the gateway needs the whole backend response (response template or cache), see <see cref="Integration.IntegrationRequest.BufferResponse"/>.</summary>
    public bool BufferResponse { get; init; }

    /// <summary>The root <c>binaryMediaTypes</c>, shared by every route of the deployment.</summary>
    public Integration.BinaryMediaTypes BinaryMediaTypes { get; init; } = Integration.BinaryMediaTypes.None;

    /// <summary>Template without the stage prefix, as written in the configuration (its parameters are the route's path parameters).</summary>
    public RouteTemplate? ConfiguredTemplate { get; init; }

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
