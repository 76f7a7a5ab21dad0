using System.Text;
using Ingest.Core.Integration;
using Ingest.TestSupport.Integration;
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
        IReadOnlyDictionary<string, string>? headers = null) =>
        IntegrationRequests.For(
            IntegrationRequests.Route(routeKey),
            IntegrationRequests.Http(method, "/v1/items/1", query, headers),
            pathParameters ?? new Dictionary<string, string> { ["id"] = "1" },
            DateTimeOffset.UnixEpoch);

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
