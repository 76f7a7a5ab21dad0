using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace Ingest.Gateway.Tests.Deployments;

/// <summary>
/// POSTs at a constant total rate for a fixed time (bounded: rate × duration requests) and keeps
/// the event id of every 202, so a test can check each one reached the backend.
/// </summary>
internal sealed class PacedPoster
{
    private readonly ConcurrentQueue<string> _failures = new();
    private int _sent;
    private int _failed;

    public ConcurrentDictionary<Guid, byte> Accepted { get; } = new();

    public int Sent => _sent;

    public int Failed => _failed;

    /// <summary>The first non-202 answers: when, status, body.</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    /// <param name="baseAddress">Gateway.</param>
    /// <param name="path">Path to POST to.</param>
    /// <param name="requestsPerSecond">Constant total rate.</param>
    /// <param name="duration">How long.</param>
    /// <param name="workers">Concurrent connections.</param>
    /// <param name="bodyPause">Pause in the middle of each body, so requests are in flight that long inside the gateway.</param>
    public async Task RunAsync(Uri baseAddress, string path, double requestsPerSecond, TimeSpan duration, int workers, TimeSpan bodyPause)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = workers, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var total = (long)(requestsPerSecond * duration.TotalSeconds);
        var next = -1L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            long n;
            while ((n = Interlocked.Increment(ref next)) < total)
            {
                var wait = TimeSpan.FromSeconds(n / requestsPerSecond) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    // Pacing to the schedule, not waiting for a condition.
                    await Task.Delay(wait);
                }
                var content = new SlowBody(System.Text.Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""), bodyPause);
                Interlocked.Increment(ref _sent);
                try
                {
                    using var response = await client.PostAsync(path, content);
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        Accepted[Guid.Parse(response.Headers.GetValues("x-request-id").Single())] = 0;
                        continue;
                    }
                    Fail($"{clock.Elapsed.TotalSeconds:0.000}s: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                catch (HttpRequestException e)
                {
                    Fail($"{clock.Elapsed.TotalSeconds:0.000}s: {e.Message}");
                }
            }
        }));
    }

    private void Fail(string what)
    {
        if (Interlocked.Increment(ref _failed) <= 20)
        {
            _failures.Enqueue(what);
        }
    }

    /// <summary>A JSON body sent in two halves with a pause between them (a slow client).</summary>
    private sealed class SlowBody : HttpContent
    {
        private readonly byte[] _bytes;
        private readonly TimeSpan _pause;

        public SlowBody(byte[] bytes, TimeSpan pause)
        {
            _bytes = bytes;
            _pause = pause;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
            Headers.ContentLength = bytes.Length;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var half = _bytes.Length / 2;
            await stream.WriteAsync(_bytes.AsMemory(0, half));
            await stream.FlushAsync();
            if (_pause > TimeSpan.Zero)
            {
                // Simulated slow upload.
                await Task.Delay(_pause);
            }
            await stream.WriteAsync(_bytes.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return true;
        }
    }
}
