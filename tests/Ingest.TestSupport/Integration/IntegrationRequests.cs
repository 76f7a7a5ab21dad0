using System.Net;
using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Events;
using Ingest.Core.Integration;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Requests;
using Ingest.Core.Routing;
using Ingest.Core.Security;
using Ingest.Core.Throttling;
using Microsoft.AspNetCore.Http;

namespace Ingest.TestSupport.Integration;

/// <summary>
/// What a sync target gets from the gateway, built without a server: a compiled route with no
/// limits (auth none, allow all, no throttle) over a target that takes no events, an
/// <see cref="HttpContext"/> and the <see cref="IntegrationRequest"/> over both.
/// </summary>
public static class IntegrationRequests
{
    /// <summary>The W3C trace context every request carries.</summary>
    public const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>A compiled route for <paramref name="routeKey"/> (<c>"METHOD /path"</c>), in <paramref name="stage"/> when given.</summary>
    public static CompiledRoute Route(string routeKey, string? stage = null, IReadOnlyDictionary<string, string>? stageVariables = null)
    {
        var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
        return new CompiledRoute
        {
            RouteKey = routeKey,
            Method = routeKey[..space],
            Template = RouteTemplate.TryParse(routeKey[(space + 1)..], out _)!,
            Target = new NoTarget(),
            CapturedHeaders = [],
            Ack = "memory",
            Timeout = TimeSpan.FromSeconds(29),
            Policy = ResourcePolicy.AllowAll,
            Auth = RouteAuthenticator.None,
            Throttle = ThrottlePolicy.Unlimited,
            Payload = PayloadPolicy.Compile(new IngestConfig(), new RouteOptions()),
            Stage = stage,
            StageVariables = stageVariables ?? new Dictionary<string, string>(),
        };
    }

    /// <summary>A request to <paramref name="path"/>; headers are appended in order (a name may repeat).</summary>
    public static DefaultHttpContext Http(string method, string path, string? query = null, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Path = path;
        if (query is not null)
        {
            http.Request.QueryString = new QueryString(query);
        }
        foreach (var (name, value) in headers ?? [])
        {
            http.Request.Headers.Append(name, value);
        }
        return http;
    }

    /// <summary>
    /// The request as the lifecycle hands it to a sync target. Identity (<paramref name="apiKeyId"/>,
    /// <paramref name="principal"/>, <paramref name="authorizerContext"/>) is absent unless given;
    /// the client is loopback and the request id new unless given.
    /// </summary>
    public static IntegrationRequest For(
        CompiledRoute route,
        HttpContext http,
        IReadOnlyDictionary<string, string> pathParameters,
        DateTimeOffset requestTime,
        ReadOnlyMemory<byte> body = default,
        bool isBinary = false,
        bool bufferResponse = false,
        Guid? requestId = null,
        IPAddress? clientIp = null,
        string? apiKeyId = null,
        string? principal = null,
        IReadOnlyDictionary<string, string>? authorizerContext = null) => new()
    {
        Context = new RequestContext
        {
            Http = http,
            Route = route,
            RequestId = requestId ?? Guid.CreateVersion7(),
            ClientIp = clientIp ?? IPAddress.Loopback,
            ApiKeyId = apiKeyId,
            Principal = principal,
            AuthorizerContext = authorizerContext,
        },
        PathParameters = pathParameters,
        Body = body,
        IsBinary = isBinary,
        RequestTime = requestTime,
        TraceParent = TraceParent,
        BufferResponse = bufferResponse,
    };

    /// <summary>Stands for the route's event target, which a sync call never uses.</summary>
    private sealed class NoTarget : IEventTarget
    {
        public string Name => "none";

        public int QueuedCount => 0;

        public EnqueueResult TryEnqueue(IngestEvent e) => EnqueueResult.Closed;

        public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
