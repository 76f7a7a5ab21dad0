using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Ingest.IntegrationTests.Outage;

/// <summary>
/// Concurrent clients posting JSON events as fast as they are answered until stopped (bounded by
/// the caller's scenario). Remembers what got a 202 (id and bytes) and counts every other answer.
/// </summary>
internal sealed class ContinuousLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _client;
    private readonly Task[] _workers;
    private long _sent;
    private long _unavailable;
    private long _unavailableWithoutRetryAfter;
    private long _otherStatus;
    private long _errors;
    private int _next = -1;

    /// <param name="baseAddress">Gateway public address.</param>
    /// <param name="path">Route path.</param>
    /// <param name="clients">Concurrent connections.</param>
    /// <param name="bodyBytes">Approximate body size; bigger bodies fill the buffer with fewer events.</param>
    public ContinuousLoad(Uri baseAddress, string path, int clients, int bodyBytes)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        _client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var padding = new string('x', Math.Max(bodyBytes - 60, 0));
        _workers = Enumerable.Range(0, clients).Select(_ => Task.Run(() => RunAsync(path, padding))).ToArray();
    }

    /// <summary>Event id (from the 202 body) to the bytes sent.</summary>
    public ConcurrentDictionary<Guid, byte[]> Acknowledged { get; } = new();

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>503 answers (buffers full, draining).</summary>
    public long Unavailable => Interlocked.Read(ref _unavailable);

    /// <summary>503 answers that lacked a Retry-After header.</summary>
    public long UnavailableWithoutRetryAfter => Interlocked.Read(ref _unavailableWithoutRetryAfter);

    /// <summary>Answers other than 202 and 503.</summary>
    public long OtherStatus => Interlocked.Read(ref _otherStatus);

    /// <summary>Requests without an answer (connection refused or reset, timeout).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    private async Task RunAsync(string path, string padding)
    {
        while (!_stop.IsCancellationRequested)
        {
            var n = Interlocked.Increment(ref _next);
            var body = Encoding.UTF8.GetBytes($"{{\"device\":\"d-{n % 37}\",\"n\":{n},\"pad\":\"{padding}\"}}");
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            try
            {
                using var response = await _client.PostAsync(path, content, _stop.Token);
                Interlocked.Increment(ref _sent);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    using var answer = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(_stop.Token));
                    Acknowledged[answer.RootElement.GetProperty("requestId").GetGuid()] = body;
                }
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    Interlocked.Increment(ref _unavailable);
                    if (response.Headers.RetryAfter is null)
                    {
                        Interlocked.Increment(ref _unavailableWithoutRetryAfter);
                    }
                }
                else
                {
                    Interlocked.Increment(ref _otherStatus);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // A request cut by the end of the scenario was never acknowledged.
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                Interlocked.Increment(ref _errors);
                if (!_stop.IsCancellationRequested)
                {
                    // Refused connections come back at once; do not spin (the gateway may be gone).
                    await Task.Delay(20, CancellationToken.None);
                }
            }
        }
    }

    /// <summary>Stops every client and waits for them.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _client.Dispose();
        _stop.Dispose();
    }
}
