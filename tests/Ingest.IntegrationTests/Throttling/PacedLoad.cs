using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;

namespace Ingest.IntegrationTests.Throttling;

/// <summary>What a <see cref="PacedLoad"/> run saw.</summary>
internal sealed class LoadResult
{
    private readonly ConcurrentDictionary<(int Target, int Status), int> _counts = new();

    /// <summary>Time from the first request sent to the last.</summary>
    public TimeSpan Elapsed { get; set; }

    public int Sent => _counts.Values.Sum();

    private readonly List<TimeSpan> _latencies = [];

    /// <summary>Slowest answer.</summary>
    public TimeSpan MaxLatency { get; private set; }

    /// <summary>The answer time that <paramref name="fraction"/> of answers did not exceed.</summary>
    public TimeSpan Percentile(double fraction)
    {
        lock (_counts)
        {
            var sorted = _latencies.Order().ToList();
            return sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(fraction * sorted.Count) - 1)];
        }
    }

    public int Count(int status) => _counts.Where(c => c.Key.Status == status).Sum(c => c.Value);

    public int Count(int target, int status) => _counts.GetValueOrDefault((target, status));

    public string Summary => string.Join(", ", _counts.OrderBy(c => c.Key).Select(c => $"instance {c.Key.Target} {c.Key.Status}: {c.Value}"));

    /// <summary>Answers slower than 100 ms: when sent (since the start), instance, status, latency.</summary>
    public List<(TimeSpan SentAt, int Target, int Status, TimeSpan Latency)> Slow { get; } = [];

    public string SlowSummary => string.Join(", ", Slow.OrderBy(s => s.SentAt).Select(s => $"[{s.SentAt.TotalMilliseconds:0} ms: instance {s.Target} {s.Status} in {s.Latency.TotalMilliseconds:0} ms]"));

    internal void Record(int target, int status, TimeSpan sentAt, TimeSpan latency)
    {
        _counts.AddOrUpdate((target, status), 1, (_, n) => n + 1);
        lock (_counts)
        {
            _latencies.Add(latency);
            if (latency > MaxLatency)
            {
                MaxLatency = latency;
            }
            if (latency > TimeSpan.FromMilliseconds(100) && Slow.Count < 100)
            {
                Slow.Add((sentAt, target, status, latency));
            }
        }
    }
}

/// <summary>
/// Sends POSTs at a fixed total rate for a fixed time, spread round-robin over gateway
/// instances: bounded in time and in count (rate × duration requests at most). With a warm-up
/// path, every worker first sends one untimed request there (connections open, code jitted), so
/// that the timed run starts warm.
/// </summary>
internal static class PacedLoad
{
    public static async Task<LoadResult> RunAsync(IReadOnlyList<Uri> instances, string path, double requestsPerSecond, TimeSpan duration, int workers = 16,
        Func<HttpRequestMessage, HttpRequestMessage>? decorate = null, string? warmupPath = null)
    {
        var clients = instances.Select(uri => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = uri,
            Timeout = TimeSpan.FromSeconds(10),
        }).ToArray();
        if (warmupPath is not null)
        {
            await Task.WhenAll(Enumerable.Range(0, workers).Select(async i =>
            {
                using var response = await clients[i % clients.Length].PostAsync(warmupPath, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            }));
        }
        var result = new LoadResult();
        var total = (long)Math.Ceiling(requestsPerSecond * duration.TotalSeconds);
        var next = -1L;
        var clock = Stopwatch.StartNew();
        var lastSent = TimeSpan.Zero;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
            {
                long n;
                while ((n = Interlocked.Increment(ref next)) < total)
                {
                    var due = TimeSpan.FromSeconds(n / requestsPerSecond);
                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }
                    var target = (int)(n % clients.Length);
                    var content = new ByteArrayContent("""{"temp":21}"""u8.ToArray());
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
                    request = decorate?.Invoke(request) ?? request;
                    var sentAt = clock.Elapsed;
                    int status;
                    try
                    {
                        using var response = await clients[target].SendAsync(request);
                        status = (int)response.StatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        status = 0;
                    }
                    catch (TaskCanceledException)
                    {
                        status = -1;
                    }
                    result.Record(target, status, sentAt, clock.Elapsed - sentAt);
                    lock (result)
                    {
                        if (sentAt > lastSent)
                        {
                            lastSent = sentAt;
                        }
                    }
                }
            }));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
        result.Elapsed = lastSent;
        return result;
    }
}
