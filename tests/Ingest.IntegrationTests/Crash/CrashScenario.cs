using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ingest.TestSupport.Processes;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Crash;

/// <summary>
/// kill -9 under load and restart on the same directory: the gateway (a child process, ack durable)
/// takes events from concurrent clients, is killed without warning once enough were acknowledged,
/// is started again on the same write-ahead log, and every acknowledged event must then be in the
/// queue or stream, byte-identical. Duplicates (delivered before the kill, replayed after) are
/// counted and printed, not failed: the guarantee is at-least-once.
/// </summary>
internal static partial class CrashScenario
{
    /// <summary>Clients sending at once.</summary>
    private const int Clients = 32;

    /// <summary>The kill comes after this many 202s, or after <see cref="KillAfter"/> once at least <see cref="MinAcks"/> came (at most <see cref="MaxLoad"/>).</summary>
    private const int KillAfterAcks = 2000;

    private const int MinAcks = 100;

    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan MaxLoad = TimeSpan.FromSeconds(15);

    /// <summary>Reads what reached the backend (id, body) until <paramref name="done"/> says all is there or the deadline passes.</summary>
    public delegate Task<List<(Guid Id, byte[] Body)>> ReadBackend(Func<List<(Guid Id, byte[] Body)>, bool> done, TimeSpan timeout);

    public static async Task RunAsync(ITestOutputHelper output, string awsEndpoints, string targetYaml, ReadBackend read)
    {
        var directory = Directory.CreateTempSubdirectory("ingest-crash-").FullName;
        var port = GatewayProcess.FreePort();
        var adminPort = GatewayProcess.FreePort();
        // Linger 200 ms: at any moment of the load some acknowledged events are still queued, so the kill always strands some.
        var yaml = $$"""
            listen: [{ address: "127.0.0.1:{{port}}", protocols: http1 }]
            admin: { listen: "127.0.0.1:{{adminPort}}" }
            accessLog: { path: "off" }
            aws:
              region: us-east-1
              accessKeyId: test
              secretAccessKey: test
              endpoints: { {{awsEndpoints}} }
              createMissing: true
            wal: { path: ./data/wal }
            {{targetYaml}}
            routes:
              - { route: POST /v1/events, target: t, auth: none, public: true, ack: durable }
            """;
        var ready = new Uri($"http://127.0.0.1:{adminPort}/readyz");
        var clock = Stopwatch.StartNew();
        try
        {
            var acknowledged = new ConcurrentDictionary<Guid, byte[]>();
            int sent, failed;
            await using (var first = await GatewayProcess.StartAsync(yaml, ready, directory))
            {
                (sent, failed) = await LoadUntilKilledAsync(first, new Uri($"http://127.0.0.1:{port}"), acknowledged);
            }
            var killedAt = clock.Elapsed;

            await using var second = await GatewayProcess.StartAsync(yaml, ready, directory);
            var restartedAt = clock.Elapsed;
            var received = await read(r => acknowledged.Keys.All(r.Select(x => x.Id).ToHashSet().Contains), TimeSpan.FromSeconds(25));
            var replayed = ReplayedCount(second.RecentOutput);

            var ids = received.Select(r => r.Id).ToList();
            var distinct = ids.ToHashSet();
            var duplicates = ids.Count - distinct.Count;
            var missing = acknowledged.Keys.Where(id => !distinct.Contains(id)).ToList();
            output.WriteLine($"sent {sent}, acknowledged {acknowledged.Count}, failed at the kill {failed}, replayed after restart {replayed}, " +
                $"delivered {distinct.Count} ({distinct.Count - distinct.Count(acknowledged.ContainsKey)} never acknowledged), duplicates {duplicates}, missing {missing.Count}");
            output.WriteLine($"kill at {killedAt.TotalSeconds:F1} s, ready again at {restartedAt.TotalSeconds:F1} s, all read at {clock.Elapsed.TotalSeconds:F1} s");

            Assert.True(missing.Count == 0, $"{missing.Count} acknowledged events lost, e.g. {string.Join(", ", missing.Take(5))}\n{second.RecentOutput}");
            Assert.True(acknowledged.Count >= 20, $"only {acknowledged.Count} acknowledged before the kill");
            Assert.True(replayed > 0, $"nothing was replayed: the kill did not strand any event\n{second.RecentOutput}");
            var bodies = received.GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.First().Body);
            foreach (var (id, body) in acknowledged)
            {
                Assert.Equal(body, bodies[id]);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Clients send until the gateway is killed under them; returns requests sent and requests that got no answer.</summary>
    private static async Task<(int Sent, int Failed)> LoadUntilKilledAsync(GatewayProcess gateway, Uri baseAddress, ConcurrentDictionary<Guid, byte[]> acknowledged)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Clients };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var sent = 0;
        var failed = 0;
        var next = 0;
        using var killed = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Clients).Select(async _ =>
        {
            while (!killed.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref next);
                var body = Encoding.UTF8.GetBytes($$"""{"device":"d-{{n % 17}}","n":{{n}},"text":"caf\u00e9 {{new string('x', n % 400)}}"}""");
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                Interlocked.Increment(ref sent);
                try
                {
                    using var response = await client.PostAsync("/v1/events", content);
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                        acknowledged[answer.RootElement.GetProperty("requestId").GetGuid()] = body;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    // The gateway died with this request in flight: not acknowledged, the client would retry.
                    Interlocked.Increment(ref failed);
                    return;
                }
            }
        }).ToList();

        var deadline = Stopwatch.StartNew();
        // A busy machine acknowledges slowly: load a little longer rather than kill an idle gateway.
        while (acknowledged.Count < KillAfterAcks && (deadline.Elapsed < KillAfter || acknowledged.Count < MinAcks) && deadline.Elapsed < MaxLoad && !gateway.HasExited)
        {
            await Task.Delay(20);
        }
        await gateway.KillAsync();
        await killed.CancelAsync();
        await Task.WhenAll(clients);
        return (sent, failed);
    }

    private static int ReplayedCount(string log)
    {
        var match = ReplayLine().Match(log);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex(@"Write-ahead log replay: (\d+) events re-queued")]
    private static partial Regex ReplayLine();
}
