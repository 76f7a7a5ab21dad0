using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Ingest.IntegrationTests.ScaleOut;

/// <summary>
/// POSTs at a fixed rate for a fixed time (bounded: rate × duration requests) through one address,
/// remembering every status and the request id of every 202, so that what the client was told
/// can be compared with what reached the queue.
/// </summary>
internal sealed class ClusterLoad
{
    private readonly ConcurrentDictionary<int, int> _statuses = new();
    private int _answered;

    /// <summary>Request ids (= event ids) of the 202 answers.</summary>
    public ConcurrentBag<Guid> Acknowledged { get; } = [];

    /// <summary>Requests answered so far (transport errors included).</summary>
    public int Answered => Volatile.Read(ref _answered);

    /// <summary>Time from the first request sent to the last.</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>Answers by status; 0 is a transport error, -1 a client timeout.</summary>
    public IReadOnlyDictionary<int, int> Statuses => _statuses;

    public int Count(int status) => _statuses.GetValueOrDefault(status);

    public string Summary => string.Join(", ", _statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));

    public async Task RunAsync(Uri baseAddress, string path, double requestsPerSecond, TimeSpan duration, int workers = 16)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(10),
        };
        var total = (long)Math.Ceiling(requestsPerSecond * duration.TotalSeconds);
        var next = -1L;
        var lastSent = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            long n;
            while ((n = Interlocked.Increment(ref next)) < total)
            {
                var wait = TimeSpan.FromSeconds(n / requestsPerSecond) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait); // pacing, not waiting for an outcome
                }
                var sentAt = clock.Elapsed;
                var content = new StringContent($$"""{"n":{{n}},"temp":21}""");
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                int status;
                try
                {
                    using var response = await client.PostAsync(path, content);
                    status = (int)response.StatusCode;
                    if (status == 202)
                    {
                        using var body = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
                        Acknowledged.Add(body.RootElement.GetProperty("requestId").GetGuid());
                    }
                }
                catch (HttpRequestException)
                {
                    status = 0;
                }
                catch (TaskCanceledException)
                {
                    status = -1;
                }
                _statuses.AddOrUpdate(status, 1, (_, c) => c + 1);
                Interlocked.Increment(ref _answered);
                lock (_statuses)
                {
                    lastSent = sentAt > lastSent ? sentAt : lastSent;
                }
            }
        }));
        Elapsed = lastSent;
    }
}
