using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Security;
using Xunit.Abstractions;

namespace Ingest.Gateway.Tests.SlowClients;

/// <summary>
/// Slowloris-style clients (headers or body one byte a second) are closed by the limits: section,
/// while normal clients beside them keep their latency. Bounded: well under a minute.
/// </summary>
[Collection(FrontDoorMeasurements.Name)]
public class SlowClientTests(ITestOutputHelper output)
{
    private const int SlowConnections = 1000;
    private const int NormalWorkers = 4;
    private static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(2);

    // Kestrel checks timeouts on its 1 s heartbeat; the gateway compensates its padding, so a
    // connection is closed between the timeout and one heartbeat later.
    private static readonly TimeSpan HeartbeatSlack = TimeSpan.FromSeconds(1);

    private const string Routes = """
        targets: { sink: { type: blackhole } }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
        """;

    [Fact]
    public async Task Header_tricklers_are_closed_after_the_header_timeout_while_normal_clients_keep_working()
    {
        await using var gateway = await TestGateway.StartAsync("limits: { requestHeadersTimeout: 2s }\n" + Routes);
        using var normal = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = NormalWorkers }) { BaseAddress = gateway.Client.BaseAddress };

        await RunNormalClientsAsync(normal, () => false, TimeSpan.FromMilliseconds(500));
        var without = await RunNormalClientsAsync(normal, () => false, TimeSpan.FromSeconds(3));

        var slow = new List<SlowConnection>(SlowConnections);
        var connectTime = Stopwatch.StartNew();
        for (var batch = 0; batch < SlowConnections; batch += 100)
        {
            var opened = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => SlowConnection.OpenAsync(RawHttp.EndPoint(gateway))));
            slow.AddRange(opened);
        }
        connectTime.Stop();
        using var trickling = new CancellationTokenSource();
        var trickle = TrickleAsync(slow, trickling.Token);
        var deadline = Stopwatch.StartNew();
        var limit = HeadersTimeout + HeartbeatSlack + TimeSpan.FromSeconds(3);
        var with = await RunNormalClientsAsync(normal, () => slow.All(s => s.Closed) || deadline.Elapsed > limit, limit);
        await trickling.CancelAsync();
        await trickle;

        var open = slow.Count(s => !s.Closed);
        var lifetimes = slow.Where(s => s.Closed).Select(s => s.Lifetime.TotalMilliseconds).Order().ToArray();
        output.WriteLine($"slow connections: {SlowConnections} opened in {connectTime.ElapsedMilliseconds} ms, requestHeadersTimeout {HeadersTimeout.TotalSeconds:F0}s");
        output.WriteLine($"closed: {lifetimes.Length}, still open: {open}; time from first byte to close: min {lifetimes.FirstOrDefault():F0} ms, p50 {Percentile(lifetimes, 50):F0} ms, max {lifetimes.LastOrDefault():F0} ms; answered 408 before closing: {slow.Count(s => s.Got408)}");
        output.WriteLine($"normal clients ({NormalWorkers} workers): without slow {without.Count} requests, p50 {Percentile(without.Latencies, 50):F2} ms, p99 {Percentile(without.Latencies, 99):F2} ms; with slow {with.Count} requests, p50 {Percentile(with.Latencies, 50):F2} ms, p99 {Percentile(with.Latencies, 99):F2} ms; failures {without.Failures + with.Failures}");

        Assert.Equal(0, open);
        Assert.All(lifetimes, ms => Assert.True(ms >= HeadersTimeout.TotalMilliseconds - 50, $"closed early after {ms} ms"));
        Assert.True(lifetimes[^1] <= (HeadersTimeout + HeartbeatSlack).TotalMilliseconds + 250, $"slowest close after {lifetimes[^1]} ms");
        Assert.Equal(0, without.Failures + with.Failures);
        Assert.True(with.Count > 100, $"only {with.Count} normal requests while slow clients were open");
        var bound = 3 * Percentile(without.Latencies, 99) + 5;
        Assert.True(Percentile(with.Latencies, 99) < bound, $"p99 with slow clients {Percentile(with.Latencies, 99):F2} ms >= {bound:F2} ms");
        foreach (var connection in slow)
        {
            connection.Dispose();
        }
    }

    [Fact]
    public async Task Body_tricklers_are_cut_by_the_minimum_data_rate()
    {
        await using var gateway = await TestGateway.StartAsync("limits: { minRequestBodyDataRate: 100, minRequestBodyDataRateGracePeriod: 2s }\n" + Routes);
        const int count = 50;
        var slow = new List<SlowConnection>();
        for (var i = 0; i < count; i++)
        {
            slow.Add(await SlowConnection.OpenAsync(RawHttp.EndPoint(gateway),
                "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"));
        }
        using var trickling = new CancellationTokenSource();
        var trickle = TrickleAsync(slow, trickling.Token, filler: (byte)' ');

        var deadline = Stopwatch.StartNew();
        var normalOk = 0;
        while (!slow.All(s => s.Closed) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            var response = await gateway.Client.PostAsync("/v1/events", new StringContent("{}", Encoding.UTF8, "application/json"));
            normalOk += (int)response.StatusCode == 202 ? 1 : 0;
            await Task.Delay(20);
        }
        await trickling.CancelAsync();
        await trickle;

        var lifetimes = slow.Where(s => s.Closed).Select(s => s.Lifetime.TotalMilliseconds).Order().ToArray();
        output.WriteLine($"{count} body tricklers (1 B/s against 100 B/s, grace 2s): closed {lifetimes.Length}, after min {lifetimes.FirstOrDefault():F0} ms, max {lifetimes.LastOrDefault():F0} ms; normal requests served meanwhile: {normalOk}");
        Assert.Equal(count, lifetimes.Length);
        Assert.True(lifetimes[^1] < 2000 + HeartbeatSlack.TotalMilliseconds + 1000, $"slowest close after {lifetimes[^1]} ms");
        Assert.True(normalOk > 10);
        foreach (var connection in slow)
        {
            connection.Dispose();
        }
    }

    private static async Task TrickleAsync(List<SlowConnection> connections, CancellationToken cancellationToken, byte? filler = null)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (var connection in connections)
                {
                    connection.SendNextByte(filler);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<(int Count, int Failures, double[] Latencies)> RunNormalClientsAsync(HttpClient client, Func<bool> done, TimeSpan maxDuration)
    {
        var latencies = new List<double>[NormalWorkers];
        var failures = 0;
        var duration = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, NormalWorkers).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            while (!done() && duration.Elapsed < maxDuration)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.PostAsync("/v1/events", new StringContent("""{"temp":21}""", Encoding.UTF8, "application/json"));
                await response.Content.ReadAsByteArrayAsync();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if ((int)response.StatusCode != 202)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return (all.Length, failures, all);
    }

    private static double Percentile(double[] sorted, int percent) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(sorted.Length * percent / 100.0) - 1)];

    /// <summary>A client that sends a request one byte at a time and notes when the server closes on it.</summary>
    private sealed class SlowConnection : IDisposable
    {
        private static readonly byte[] Request = Encoding.ASCII.GetBytes(
            "POST /v1/events HTTP/1.1\r\nHost: slow.example\r\nContent-Type: application/json\r\nX-Padding: " + new string('p', 200) + "\r\n\r\n");

        private readonly Socket _socket;
        private readonly long _firstByteAt;
        private int _next;
        private long _closedAt;

        private SlowConnection(Socket socket, int sent)
        {
            _socket = socket;
            _next = sent;
            _firstByteAt = Stopwatch.GetTimestamp();
        }

        public bool Closed => Volatile.Read(ref _closedAt) != 0;

        public bool Got408 { get; private set; }

        public TimeSpan Lifetime => Stopwatch.GetElapsedTime(_firstByteAt, Volatile.Read(ref _closedAt));

        public static async Task<SlowConnection> OpenAsync(IPEndPoint endPoint, string? prefix = null)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endPoint);
            var first = prefix is null ? Request.AsMemory(0, 1) : Encoding.ASCII.GetBytes(prefix);
            await socket.SendAsync(first);
            var connection = new SlowConnection(socket, prefix is null ? 1 : int.MaxValue);
            _ = connection.WatchAsync();
            return connection;
        }

        public void SendNextByte(byte? filler)
        {
            if (Closed)
            {
                return;
            }
            try
            {
                if (filler is { } b)
                {
                    _socket.Send([b]);
                }
                else if (_next < Request.Length)
                {
                    _socket.Send(Request.AsSpan(_next++, 1));
                }
            }
            catch (SocketException)
            {
                // Closed by the server; WatchAsync records when.
            }
        }

        private async Task WatchAsync()
        {
            var buffer = new byte[1024];
            try
            {
                while (true)
                {
                    var read = await _socket.ReceiveAsync(buffer);
                    if (read == 0)
                    {
                        break;
                    }
                    Got408 |= Encoding.ASCII.GetString(buffer, 0, read).StartsWith("HTTP/1.1 408", StringComparison.Ordinal);
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            Volatile.Write(ref _closedAt, Stopwatch.GetTimestamp());
        }

        public void Dispose() => _socket.Dispose();
    }
}
