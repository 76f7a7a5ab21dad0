using System.Net;
using Ingest.Core.Deployment;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Requests;

/// <summary>What the lifecycle steps learn about one request as it passes through them.</summary>
public sealed class RequestContext
{
    public required HttpContext Http { get; init; }

    public required CompiledRoute Route { get; init; }

    /// <summary>The gateway's request id, also the event id of a single-event request.</summary>
    public required Guid RequestId { get; init; }

    /// <summary>The client's address after trusted-proxy resolution.</summary>
    public IPAddress? ClientIp { get; set; }

    /// <summary>Id (never the key) of the API key that authenticated the request.</summary>
    public string? ApiKeyId { get; set; }

    /// <summary>Principal named by an authorizer, IAM access key id or HMAC device id.</summary>
    public string? Principal { get; set; }

    /// <summary>Context values returned by an authorizer.</summary>
    public IReadOnlyDictionary<string, string>? AuthorizerContext { get; set; }

    /// <summary>The raw request body once read (still compressed when sent compressed).</summary>
    public byte[]? Body { get; set; }

    /// <summary>Why the gateway refused the request, for the access log's integrationError; never a secret.</summary>
    public string? RejectionReason { get; set; }

    /// <summary>Firewall rule that matched, for the access log.</summary>
    public string? FirewallRule { get; set; }

    /// <summary>Admin test-invoke: the resource policy is not applied. False for real requests.</summary>
    public bool SkipResourcePolicy { get; init; }

    /// <summary>
    /// Admin test-invoke (dry run): events are captured here instead of being queued to the
    /// target. Null for real requests.
    /// </summary>
    public List<Events.IngestEvent>? DryRunEvents { get; init; }

    /// <summary>
    /// Execution log of this request: set only when the route's execution logging is on or the
    /// request is a test-invoke; steps add lines with <c>context.Trace?.Write(...)</c>.
    /// </summary>
    public Diagnostics.ExecutionTrace? Trace { get; init; }

    /// <summary>The path the route table matched (custom-domain base path already mapped); the request path when not set.</summary>
    public string? MatchedPath { get; init; }

    /// <summary>The template that matched <see cref="MatchedPath"/> (stage prefix included or not, as the request came); its parameters are the path parameters.</summary>
    public Routing.RouteTemplate? MatchedTemplate { get; init; }

    /// <summary>Sync routes: the status the backend answered with (access log integrationStatus); null when not called.</summary>
    public int? IntegrationStatus { get; set; }

    /// <summary>Sync routes: time spent in the backend call in milliseconds (access log integrationLatency); null when not called.</summary>
    public double? IntegrationLatencyMs { get; set; }
}
