using System.Net;
using Ingest.Core.Requests;
using Ingest.Core.Templates;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Integration;

/// <summary>A request/response backend a route calls while the client waits.</summary>
public interface ISyncTarget : IAsyncDisposable
{
    /// <summary>Target name from the configuration.</summary>
    string Name { get; }

    /// <summary>
    /// True (default): the gateway reads the whole body (payload checks, inflation) before
    /// <see cref="InvokeAsync"/> and hands it over in <see cref="IntegrationRequest.Body"/>. False: the
    /// target streams <c>Context.Http.Request.Body</c> itself (HTTP proxy); the size limit still applies.
    /// </summary>
    bool NeedsBody => true;

    /// <summary>
    /// Calls the backend. Either returns a response for the gateway to write (response template,
    /// cache and binary decoding apply), or writes <c>Context.Http.Response</c> itself and says so
    /// with <see cref="IntegrationResult.Written"/>. Never throws for backend failures: returns
    /// <see cref="IntegrationResult.Failed"/>. <paramref name="cancellationToken"/> fires at the
    /// route timeout or when the client goes away.
    /// </summary>
    ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken);
}

/// <summary>One call of a sync target: the request as the lifecycle steps left it.</summary>
public sealed class IntegrationRequest
{
    /// <summary>The request (HttpContext, route, request id, identity, client IP).</summary>
    public required RequestContext Context { get; init; }

    /// <summary>Path parameters of the matched route template (<c>{id}</c>, greedy <c>{proxy+}</c>), decoded.</summary>
    public required IReadOnlyDictionary<string, string> PathParameters { get; init; }

    /// <summary>The body after inflation (empty when none, or when the target streams it).</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The body's content type is one of <c>binaryMediaTypes</c>: keep the bytes exact, base64 where text is needed.</summary>
    public bool IsBinary { get; init; }

    /// <summary>When the gateway received the request.</summary>
    public required DateTimeOffset RequestTime { get; init; }

    /// <summary>W3C trace context of this request, to send on.</summary>
    public required string TraceParent { get; init; }

    /// <summary>
    /// The gateway needs the whole response (response template, cache): a target that streams must
    /// return the response in <see cref="IntegrationResult.Body"/> instead of writing it.
    /// </summary>
    public bool BufferResponse { get; init; }

    /// <summary>The route's request mapping template, or null (pass through).</summary>
    public MappingTemplate? RequestTemplate { get; init; }

    /// <summary>Stage variables of the route's stage (empty without stages).</summary>
    public IReadOnlyDictionary<string, string> StageVariables => Context.Route.StageVariables;

    /// <summary>Renders <see cref="RequestTemplate"/> over this request; null when the route has none.</summary>
    public string? RenderRequestTemplate(CancellationToken cancellationToken) =>
        RequestTemplate?.Render(TemplateScope.ForRequest(this), cancellationToken);
}

/// <summary>Why a sync call did not produce a backend answer; the gateway maps it per <c>compat</c>.</summary>
public enum IntegrationFailure : byte
{
    /// <summary>The backend answered (any status).</summary>
    None,

    /// <summary>The route timeout passed: rest-v1 504 "Endpoint request timed out", http-v2 503.</summary>
    Timeout,

    /// <summary>Connection refused, reset, DNS, TLS: 502.</summary>
    Unreachable,

    /// <summary>The backend's answer could not be used (malformed Lambda proxy response, bad status): 502.</summary>
    InvalidResponse,

    /// <summary>The function failed (Lambda <c>X-Amz-Function-Error</c>, SFN execution failure): rest-v1 502, http-v2 500.</summary>
    FunctionError,

    /// <summary>The request could not be built (template render error or time limit): 500.</summary>
    MappingError,
}

/// <summary>What a sync call gave.</summary>
public sealed class IntegrationResult
{
    /// <summary>Status the backend answered with (0 when it did not answer); access-log integrationStatus.</summary>
    public int IntegrationStatus { get; init; }

    /// <summary>The target wrote the client's response itself (streaming proxy); the gateway only logs.</summary>
    public bool Written { get; init; }

    /// <summary>Status for the client.</summary>
    public int StatusCode { get; init; } = (int)HttpStatusCode.OK;

    /// <summary>Response headers for the client (Content-Type goes in <see cref="ContentType"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, StringValues>> Headers { get; init; } = [];

    /// <summary>Content type of <see cref="Body"/>; null: none sent.</summary>
    public string? ContentType { get; init; }

    /// <summary>Response body bytes, exact.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Set when the call failed; <see cref="Reason"/> says why (access log, never a secret).</summary>
    public IntegrationFailure Failure { get; init; }

    /// <summary>Why it failed, for the access log's integrationError.</summary>
    public string? Reason { get; init; }

    /// <summary>A failure the gateway turns into its error answer.</summary>
    public static IntegrationResult Failed(IntegrationFailure failure, string reason, int integrationStatus = 0) =>
        new() { Failure = failure, Reason = reason, IntegrationStatus = integrationStatus };

    /// <summary>The target wrote the response itself.</summary>
    public static IntegrationResult WrittenByTarget(int integrationStatus) =>
        new() { Written = true, IntegrationStatus = integrationStatus, StatusCode = integrationStatus };
}
