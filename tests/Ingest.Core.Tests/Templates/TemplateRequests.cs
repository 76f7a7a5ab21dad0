using System.Net;
using System.Text;
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
using Ingest.Core.Auth;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Tests.Templates;

/// <summary>Integration requests as the gateway hands them to sync targets, built without a server.</summary>
internal static class TemplateRequests
{
    public static readonly DateTimeOffset Time = new(2026, 11, 25, 21, 14, 44, 123, TimeSpan.Zero);

    public static readonly Guid RequestId = Guid.Parse("0195f1a2-0000-7000-8000-000000000001");

    public static IntegrationRequest Create(
        string body = "",
        string routeKey = "POST /v1/devices/{id}/events",
        IReadOnlyDictionary<string, string>? pathParameters = null,
        string? query = null,
        IReadOnlyDictionary<string, string>? headers = null,
        IReadOnlyDictionary<string, string>? stageVariables = null,
        string? stage = null,
        bool isBinary = false,
        byte[]? bodyBytes = null)
    {
        var http = new DefaultHttpContext();
        var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
        http.Request.Method = routeKey[..space];
        http.Request.Path = "/v1/devices/d-1/events";
        http.Request.Host = new HostString("api.example", 443);
        if (query is not null)
        {
            http.Request.QueryString = new QueryString(query);
        }
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            http.Request.Headers.Append(name, value);
        }
        var route = new CompiledRoute
        {
            RouteKey = routeKey,
            Method = http.Request.Method,
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
        var context = new RequestContext
        {
            Http = http,
            Route = route,
            RequestId = RequestId,
            ClientIp = IPAddress.Parse("203.0.113.7"),
            ApiKeyId = "key-1",
            Principal = "device-42",
            AuthorizerContext = new Dictionary<string, string> { ["tenant"] = "acme" },
        };
        return new IntegrationRequest
        {
            Context = context,
            PathParameters = pathParameters ?? new Dictionary<string, string> { ["id"] = "d-1" },
            Body = bodyBytes ?? Encoding.UTF8.GetBytes(body),
            IsBinary = isBinary,
            RequestTime = Time,
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
    }

    private sealed class NoTarget : IEventTarget
    {
        public string Name => "none";

        public int QueuedCount => 0;

        public EnqueueResult TryEnqueue(IngestEvent e) => EnqueueResult.Closed;

        public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
