using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Ingest.IntegrationTests.Delivery;

/// <summary>
/// Sends events over many concurrent connections and remembers exactly what got a 202, so the
/// tests can compare it with what reached the queue or stream.
/// </summary>
internal sealed class LoadDriver
{
    /// <summary>Event id (from the 202 body) to the bytes sent.</summary>
    public ConcurrentDictionary<Guid, byte[]> Acknowledged { get; } = new();

    public int Sent;
    public int Refused;

    /// <summary>Every 10th body is random binary, the rest JSON of varying size.</summary>
    public static (byte[] Body, string ContentType) MakeBody(int n)
    {
        if (n % 10 == 0)
        {
            return (RandomNumberGenerator.GetBytes(64 + n % 300), "application/octet-stream");
        }
        var json = $"{{\"device\":\"d-{n % 37}\",\"n\":{n},\"text\":\"caf\u00e9 \u2603 {new string('x', n % 700)}\"}}";
        return (Encoding.UTF8.GetBytes(json), "application/json");
    }

    public async Task RunAsync(Uri baseAddress, string path, int events, int connections)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var next = -1;
        var workers = Enumerable.Range(0, connections).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < events)
            {
                var (body, contentType) = MakeBody(n);
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
                using var response = await client.PostAsync(path, content);
                Interlocked.Increment(ref Sent);
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    Interlocked.Increment(ref Refused);
                    continue;
                }
                using var answer = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
                Acknowledged[answer.RootElement.GetProperty("requestId").GetGuid()] = body;
            }
        });
        await Task.WhenAll(workers);
    }
}
