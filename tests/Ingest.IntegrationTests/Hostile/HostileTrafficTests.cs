using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ingest.IntegrationTests.Delivery;
using Ingest.TestSupport.Payload;
using Ingest.TestSupport.Processes;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Hostile;

/// <summary>
/// Hostile traffic against the gateway as users run it (a child process in front of the shared
/// SQS stand-in, own queue), while honest clients keep sending: slowloris on headers and body,
/// request smuggling, header floods, malformed bytes, JSON and gzip bombs, HTTP/2 rapid reset.
/// Each attack must get a clear 4xx or a closed connection, the process must stay healthy and
/// within memory.bufferBytes + 100 MB of RSS (sampled every second), and every event acknowledged
/// before and during the attacks must reach the queue. Bounded: about 60 s, at most 2 minutes.
/// </summary>
[Trait("Category", "Standins")]
[Collection(HostileCollection.Name)]
public class HostileTrafficTests(ITestOutputHelper output)
{
    private const long BufferBytes = 64L << 20;
    private const long RssCeiling = BufferBytes + (100L << 20);
    private const string SqsEndpoint = "http://127.0.0.1:4566";
    private static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(2);

    // Kestrel checks timeouts on a 1 s heartbeat; a close comes within the timeout + 1 s, plus
    // scheduling slack on a busy 2-core machine.
    private static readonly TimeSpan CloseSlack = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Every_attack_gets_a_4xx_or_a_closed_connection_and_honest_events_are_all_delivered()
    {
        var suite = Stopwatch.StartNew();
        var queue = $"hostile-{Guid.NewGuid():N}";
        var port = GatewayProcess.FreePort();
        var h2Port = GatewayProcess.FreePort();
        var adminPort = GatewayProcess.FreePort();
        await using var gateway = await GatewayProcess.StartAsync($$"""
            listen:
              - { address: "127.0.0.1:{{port}}", protocols: http1AndHttp2 }
              - { address: "127.0.0.1:{{h2Port}}", protocols: http2 }
            admin: { listen: "127.0.0.1:{{adminPort}}" }
            accessLog: { path: off }
            memory: { bufferBytes: {{BufferBytes}} }
            limits:
              requestHeadersTimeout: {{HeadersTimeout.TotalSeconds}}s
              minRequestBodyDataRate: 240
              minRequestBodyDataRateGracePeriod: 2s
            aws:
              region: us-east-1
              accessKeyId: test
              secretAccessKey: test
              endpoints: { sqs: "{{SqsEndpoint}}" }
              createMissing: true
            targets:
              q: { type: sqs, queue: {{queue}}, batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true, validate: json, managedRules: [sqli, xss] }
            """, new Uri($"http://127.0.0.1:{adminPort}/readyz"));
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(5) };
        using var sampling = new CancellationTokenSource();
        var rss = gateway.SampleRssAsync(TimeSpan.FromSeconds(1), sampling.Token);
        var clients = new LegitimateClients(new Uri($"http://127.0.0.1:{port}"), clients: 4, pace: TimeSpan.FromMilliseconds(10));
        try
        {
            await UntilAsync(() => clients.Acknowledged.Count >= 200, TimeSpan.FromSeconds(30), "honest clients warming up");
            output.WriteLine($"warm-up: {clients.Acknowledged.Count} events acknowledged, RSS {Mb(gateway.RssBytes())}");

            async Task Attack(string name, Func<Task<string>> run)
            {
                var before = gateway.RssBytes();
                var answered = await run();
                var health = await admin.GetAsync("/healthz");
                Assert.True(health.IsSuccessStatusCode, $"/healthz answered {(int)health.StatusCode} after {name}");
                Assert.False(gateway.HasExited, $"gateway exited during {name}:\n{gateway.RecentOutput}");
                output.WriteLine($"{name,-46} -> {answered}; RSS {Mb(before)} -> {Mb(gateway.RssBytes())}");
            }

            await Attack("slowloris, headers (100 connections)", () => SlowHeadersAsync(endPoint, 100));
            await Attack("slowloris, body (50 connections)", () => SlowBodyAsync(endPoint, 50));

            await Attack("smuggling: Content-Length + Transfer-Encoding", async () =>
            {
                var answer = await RawExchange.SendAsync(endPoint,
                    "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "2\r\n{}\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", TimeSpan.FromSeconds(3));
                // Either refused, or read as chunked with the connection closed so that the bytes
                // after the chunked body are never taken as a second request.
                Assert.True(answer.Is4xx || (answer.Status == 202 && answer.Closed && answer.Responses == 1), answer.ToString());
                return answer.ToString();
            });
            await Attack("smuggling: two different Content-Lengths", () => Expect4xxAsync(endPoint,
                "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}", 400));
            foreach (var (label, header) in new[]
            {
                ("xchunked", "Transfer-Encoding: xchunked\r\n"),
                ("space before colon", "Transfer-Encoding : chunked\r\n"),
                ("chunked, then identity", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
                ("folded line", "Transfer-Encoding:\r\n chunked\r\n"),
                ("tab-prefixed value, CL too", "Content-Length: 4\r\nTransfer-Encoding:\tchunked, identity\r\n"),
            })
            {
                await Attack($"smuggling: obfuscated TE ({label})", () => Expect4xxAsync(endPoint,
                    $"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{header}\r\n2\r\n{{}}\r\n0\r\n\r\n", 400));
            }

            await Attack("one 40 KiB header", () => Expect4xxAsync(endPoint,
                $"GET /v1/events HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40 * 1024)}\r\n\r\n", 431));
            await Attack("150 headers", () => Expect4xxAsync(endPoint,
                "GET /v1/events HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 150).Select(i => $"X-H{i}: v\r\n")) + "\r\n", 431));
            await Attack("10 KiB request line", () => Expect4xxAsync(endPoint,
                $"GET /v1/{new string('a', 10 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n", 414));

            await Attack("invalid UTF-8 bytes in the path", () => Expect4xxAsync(endPoint,
                Bytes("POST /v1/", [0xFF, 0xFE, 0xC3], " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), 400));
            await Attack("percent-encoded invalid UTF-8 in the path", () => Expect4xxAsync(endPoint,
                "POST /v1/%FF%FE%C3/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 404));
            await Attack("NUL in the path", () => Expect4xxAsync(endPoint,
                Bytes("POST /v1/ev", [0x00], "ents HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), 400));
            await Attack("control characters in a header value", () => Expect4xxAsync(endPoint,
                Bytes("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Evil: a", [0x01, 0x7F, 0x00], "b\r\nContent-Length: 2\r\n\r\n{}"), 400));
            await Attack("invalid UTF-8 in a header value", () => ExpectAcceptedOr4xxAsync(endPoint,
                Bytes("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nUser-Agent: a", [0xC3, 0x28, 0xFF], "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")));

            await Attack("JSON nested 100 000 levels deep", () => Expect4xxAsync(endPoint,
                Post(new string('[', 100_000) + new string(']', 100_000)), 400));
            await Attack("5 MiB JSON, declared", () => Expect4xxAsync(endPoint,
                Post("[" + string.Join(',', Enumerable.Repeat("\"xxxxxxxxxxxxxxxx\"", 270_000)) + "]"), 413));
            await Attack("5 MiB JSON, chunked", () => ChunkedFloodAsync(endPoint, 5 << 20));

            var truncated = Bombs.Gzip(Encoding.UTF8.GetBytes("{\"a\":\"" + new string('b', 10_000) + "\"}"));
            await Attack("truncated gzip", () => Expect4xxAsync(endPoint, Post(truncated[..(truncated.Length / 2)], "gzip"), 400));
            await Attack("gzip bomb (200 KB -> 200 MiB)", () => Expect4xxAsync(endPoint, Post(GzipBomb(200), "gzip"), 413));

            await Attack("SQL injection probe in the query", () => Expect4xxAsync(endPoint,
                "POST /v1/events?id=1%27%20OR%201%3D1-- HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", 403));
            await Attack("script injection in the body", () => Expect4xxAsync(endPoint,
                Post("{\"bio\":\"<img src=x onerror=alert(document.cookie)>\"}"), 403));

            // A plain listener that also speaks HTTP/1.1 cannot tell h2c by ALPN: Kestrel answers the
            // HTTP/2 preface with GOAWAY HTTP_1_1_REQUIRED. h2c needs a listener with protocols: http2.
            await Attack("h2c preface on the http1AndHttp2 listener", async () =>
            {
                var outcome = await RapidReset.RunAsync(endPoint, 1, TimeSpan.FromSeconds(5), paced: false);
                Assert.True(outcome.GoAwayReceived && outcome.GoAwayError == 13 && outcome.Closed, outcome.ToString());
                return outcome.ToString();
            });
            var h2 = new IPEndPoint(IPAddress.Loopback, h2Port);
            await Attack("HTTP/2 rapid reset, flood (5 000 streams)", async () =>
            {
                // Faster than the server tears streams down: Kestrel's rapid-reset guard ends the
                // connection. (20 000 at once also close it, with a one-second RSS spike of ~20 MiB.)
                var outcome = await RapidReset.RunAsync(h2, 5_000, TimeSpan.FromSeconds(15), paced: false);
                Assert.True(outcome.Closed, outcome.ToString());
                return outcome.ToString();
            });
            await Attack("HTTP/2 rapid reset, paced by PING (5 000)", async () =>
            {
                // At the server's own pace every reset stream is torn down at once: nothing piles up
                // (RSS below), and the connection stays usable.
                var outcome = await RapidReset.RunAsync(h2, 5_000, TimeSpan.FromSeconds(30), paced: true);
                Assert.True(outcome.Closed || (outcome.StreamsSent == 5_000 && outcome.AnsweredFinalPing), outcome.ToString());
                return outcome.ToString();
            });

            var duringAttacks = clients.Acknowledged.Count;
            await clients.StopAsync();
            output.WriteLine($"honest clients: {clients.Acknowledged.Count} events acknowledged ({duringAttacks} by the end of the attacks), {clients.FailureCount} failures");
            Assert.True(clients.FailureCount == 0, "honest requests failed: " + string.Join(" | ", clients.Failures));
        }
        finally
        {
            await clients.DisposeAsync();
            await sampling.CancelAsync();
        }

        var samples = await rss;
        output.WriteLine($"RSS samples: {samples.Count}, max {Mb(samples.Max())}, ceiling {Mb(RssCeiling)}; per second (MiB): {string.Join(' ', samples.Select(s => s >> 20))}");
        Assert.All(samples, s => Assert.True(s < RssCeiling, $"RSS {Mb(s)} over {Mb(RssCeiling)}"));

        // Attacks the gateway accepted (the Content-Length + Transfer-Encoding request) add events of their own.
        var received = await SqsDeliveryTests.ReceiveAllAsync(queue, [.. clients.Acknowledged.Keys], TimeSpan.FromSeconds(60));
        var ids = received.Select(r => r.Id).ToHashSet();
        var missing = clients.Acknowledged.Keys.Where(id => !ids.Contains(id)).ToList();
        output.WriteLine($"delivered {clients.Acknowledged.Keys.Count(ids.Contains)} of {clients.Acknowledged.Count} acknowledged ({ids.Count} events in the queue); suite took {suite.Elapsed.TotalSeconds:F0} s");
        Assert.Empty(missing);
        foreach (var (id, body) in received)
        {
            if (clients.Acknowledged.TryGetValue(id, out var sent))
            {
                Assert.Equal(sent, body);
            }
        }
        Assert.True(suite.Elapsed < TimeSpan.FromMinutes(2), $"suite took {suite.Elapsed}");
    }

    /// <summary>Connections that send a request line and then one header line every 500 ms, never finishing.</summary>
    private async Task<string> SlowHeadersAsync(IPEndPoint endPoint, int count)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(endPoint);
            var stream = client.GetStream();
            var clock = Stopwatch.StartNew();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/events HTTP/1.1\r\nHost: x\r\n"));
            using var stop = new CancellationTokenSource();
            var trickle = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
                var n = 0;
                try
                {
                    while (await timer.WaitForNextTickAsync(stop.Token))
                    {
                        await stream.WriteAsync(Encoding.ASCII.GetBytes($"X-Trickle-{n++}: a\r\n"), stop.Token);
                    }
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
                {
                    // Closed by the server: the point of the exercise.
                }
            });
            var answer = await RawExchange.ReadAnswerAsync(stream, clock, HeadersTimeout + CloseSlack + TimeSpan.FromSeconds(2));
            await stop.CancelAsync();
            await trickle;
            return answer;
        }));
        return Summarize(answers, HeadersTimeout + CloseSlack);
    }

    /// <summary>Connections that send complete headers promising 10 000 bytes, then 1 byte every 500 ms.</summary>
    private async Task<string> SlowBodyAsync(IPEndPoint endPoint, int count)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(endPoint);
            var stream = client.GetStream();
            var clock = Stopwatch.StartNew();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n["));
            using var stop = new CancellationTokenSource();
            var trickle = Task.Run(async () =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
                try
                {
                    while (await timer.WaitForNextTickAsync(stop.Token))
                    {
                        await stream.WriteAsync("1"u8.ToArray(), stop.Token);
                    }
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
                {
                }
            });
            // Grace period 2 s, then the average rate (2 B/s) is far under 240 B/s.
            var answer = await RawExchange.ReadAnswerAsync(stream, clock, TimeSpan.FromSeconds(2) + CloseSlack + TimeSpan.FromSeconds(4));
            await stop.CancelAsync();
            await trickle;
            return answer;
        }));
        return Summarize(answers, TimeSpan.FromSeconds(2) + CloseSlack + TimeSpan.FromSeconds(2));
    }

    /// <summary>All connections closed within <paramref name="bound"/>, with 408 Request Timeout (or no response, when the close wins the race).</summary>
    private static string Summarize(Answer[] answers, TimeSpan bound)
    {
        Assert.All(answers, a => Assert.True(a.Closed, $"still open: {a}"));
        Assert.All(answers, a => Assert.True(a.Status is null or 408, $"unexpected answer: {a}"));
        var slowest = answers.Max(a => a.Elapsed);
        Assert.True(slowest <= bound, $"slowest close after {slowest.TotalSeconds:F1} s, bound {bound.TotalSeconds:F1} s");
        var statuses = answers.GroupBy(a => a.Status?.ToString() ?? "no response").Select(g => $"{g.Count()} x {g.Key}");
        return $"{string.Join(", ", statuses)}; all closed, slowest after {slowest.TotalSeconds:F1} s";
    }

    private static async Task<string> Expect4xxAsync(IPEndPoint endPoint, byte[] request, int status)
    {
        var answer = await RawExchange.SendAsync(endPoint, request, TimeSpan.FromSeconds(5));
        Assert.True(answer.Status == status, $"expected {status}, got {answer}");
        return answer.ToString();
    }

    private static Task<string> Expect4xxAsync(IPEndPoint endPoint, string request, int status) =>
        Expect4xxAsync(endPoint, Encoding.Latin1.GetBytes(request), status);

    /// <summary>Header values are opaque bytes to HTTP: accepting them is as fine as refusing them, as long as nothing breaks.</summary>
    private static async Task<string> ExpectAcceptedOr4xxAsync(IPEndPoint endPoint, byte[] request)
    {
        var answer = await RawExchange.SendAsync(endPoint, request, TimeSpan.FromSeconds(5));
        Assert.True(answer.Status == 202 || answer.Is4xx, answer.ToString());
        return answer.ToString();
    }

    /// <summary>A chunked body far over the route limit: cut at the limit with 413 and a close.</summary>
    private static async Task<string> ChunkedFloodAsync(IPEndPoint endPoint, int bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint);
        var stream = client.GetStream();
        var clock = Stopwatch.StartNew();
        var chunk = Encoding.ASCII.GetBytes($"4000\r\n{new string('1', 0x4000)}\r\n");
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
            for (var sent = 0; sent < bytes; sent += 0x4000)
            {
                await stream.WriteAsync(chunk);
            }
            await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
        }
        catch (IOException)
        {
            // Closed by the server once the limit was passed.
        }
        var answer = await RawExchange.ReadAnswerAsync(stream, clock, TimeSpan.FromSeconds(5));
        Assert.True(answer.Status == 413 && answer.Closed, $"expected 413 and a close, got {answer}");
        return answer.ToString();
    }

    private static byte[] Post(string json) => Post(Encoding.UTF8.GetBytes(json), null);

    private static byte[] Post(byte[] body, string? encoding) =>
        [.. Encoding.ASCII.GetBytes($"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n"
            + (encoding is null ? "" : $"Content-Encoding: {encoding}\r\n") + "\r\n"), .. body];

    private static byte[] Bytes(string head, byte[] raw, string tail) =>
        [.. Encoding.ASCII.GetBytes(head), .. raw, .. Encoding.ASCII.GetBytes(tail)];

    /// <summary>Gzip members of 1 MiB of zeros each, about 1 KB apiece: <paramref name="mebibytes"/> MiB inflated.</summary>
    private static byte[] GzipBomb(int mebibytes)
    {
        var member = Bombs.Gzip(new byte[1 << 20]);
        return [.. Enumerable.Repeat(member, mebibytes).SelectMany(m => m)];
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):F0} MB";

    private static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{what}: not done within {timeout}");
            }
            await Task.Delay(50);
        }
    }
}

/// <summary>The hostile suite runs alone: its close-time bounds and RSS ceiling assume the machine is not also running other load.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileCollection
{
    public const string Name = "Hostile traffic";
}
