using System.Net;
using System.Text;
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
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Tests.Caching;

/// <summary>Integration requests and a counting backend for the response cache tests.</summary>
internal static class CacheTestKit
{
    public static IntegrationRequest Request(
        string method = "GET",
        string routeKey = "GET /v1/items/{id}",
        IReadOnlyDictionary<string, string>? pathParameters = null,
        string? query = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Path = "/v1/items/1";
        if (query is not null)
        {
            http.Request.QueryString = new QueryString(query);
        }
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            http.Request.Headers.Append(name, value);
        }
        var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
        var route = new CompiledRoute
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
        };
        return new IntegrationRequest
        {
            Context = new RequestContext { Http = http, Route = route, RequestId = Guid.CreateVersion7(), ClientIp = IPAddress.Loopback },
            PathParameters = pathParameters ?? new Dictionary<string, string> { ["id"] = "1" },
            RequestTime = DateTimeOffset.UnixEpoch,
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
    }

    public static IntegrationResult Answer(string body, int status = 200, params (string Name, string Value)[] headers) => new()
    {
        IntegrationStatus = status,
        StatusCode = status,
        ContentType = "application/json",
        Body = Encoding.UTF8.GetBytes(body),
        Headers = headers.Select(h => new KeyValuePair<string, StringValues>(h.Name, h.Value)).ToArray(),
    };

    public static string Text(IntegrationResult result) => Encoding.UTF8.GetString(result.Body.Span);

    public static string? CacheHeader(IntegrationResult result) =>
        result.Headers.Where(h => h.Key == "X-Cache").Select(h => h.Value.ToString()).SingleOrDefault();

    private sealed class NoTarget : IEventTarget
    {
        public string Name => "none";

        public int QueuedCount => 0;

        public EnqueueResult TryEnqueue(IngestEvent e) => EnqueueResult.Closed;

        public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>A backend that counts calls and answers what the test says (by default "call N").</summary>
internal sealed class CountingTarget : ISyncTarget
{
    private int _calls;

    public string Name => "counting";

    public int Calls => Volatile.Read(ref _calls);

    public bool Disposed { get; private set; }

    public List<IntegrationRequest> Requests { get; } = [];

    public Func<int, IntegrationResult> Answer { get; set; } = n => CacheTestKit.Answer($"call {n}");

    public ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _calls);
        lock (Requests)
        {
            Requests.Add(request);
        }
        return ValueTask.FromResult(Answer(n));
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
