using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Gateway.Tests.Firewall;

/// <summary>Firewall rules on a real Kestrel: status and body, the access log's firewallRule, the metric, and the body left intact for delivery.</summary>
public class FirewallGatewayTests
{
    private const string Yaml = """
        firewall:
          gateway: [no-scanners]
          rules:
            - { id: no-scanners, action: block, header: { name: user-agent, contains: sqlmap, ignoreCase: true } }
            - { id: watch-debug, action: count, query: { contains: "debug=" } }
            - { id: no-eval, action: block, body: { contains: "eval(" } }
        apiKeys:
          - { id: fleet, sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b }
        targets:
          rec: { type: recording, batch: { linger: 1ms } }
        routes:
          - { route: POST /v1/events, target: rec, auth: none, public: true, firewall: [watch-debug, no-eval], managedRules: [sqli, xss], maxBodyBytes: 1048576, contentTypes: [application/json] }
          - { route: POST /v1/keyed, target: rec, auth: [apiKey] }
        """;

    private static async Task<ConsoleGateway> StartAsync(RecordingTargetKind backend, string yaml = Yaml, TimeProvider? time = null) =>
        await ConsoleGateway.StartAsync(yaml, new GatewayOptions
        {
            ConfigureServices = s => s.AddSingleton<ITargetKind>(backend),
            TimeProvider = time ?? TimeProvider.System,
        });

    private static string? Rule(string line) =>
        JsonDocument.Parse(line).RootElement.TryGetProperty("firewallRule", out var rule) && rule.ValueKind == JsonValueKind.String ? rule.GetString() : null;

    private static int Status(string line) => JsonDocument.Parse(line).RootElement.GetProperty("status").GetInt32();

    [Fact]
    public async Task Block_answers_403_Forbidden_logs_the_rule_and_counts_it_matched_route_or_not()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await StartAsync(backend);
        using var scanner = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        scanner.Headers.UserAgent.ParseAdd("sqlmap/1.7.2");
        using var probe = new HttpRequestMessage(HttpMethod.Get, "/.env");
        probe.Headers.UserAgent.ParseAdd("SQLMap");

        var blocked = await gateway.Client.SendAsync(scanner);
        var unmatched = await gateway.Client.SendAsync(probe);
        var keyed = await gateway.PostJsonAsync("/v1/keyed", "{}");

        await StatusCodeTests.AssertError(blocked, 403, "Forbidden");
        await StatusCodeTests.AssertError(unmatched, 403, "Forbidden");
        await StatusCodeTests.AssertError(keyed, 403, "Forbidden");
        var lines = await gateway.AccessLogLinesAsync(3);
        Assert.Equal(["no-scanners", "no-scanners", null], lines.Select(Rule));
        Assert.Equal([403, 403, 403], lines.Select(Status));
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_firewall_matches_total") >= 2);
        Assert.Equal(2, scrape.Sum("ingest_firewall_matches_total", ("rule", "no-scanners"), ("action", "block")));
        Assert.Empty(backend.Delivered);
    }

    [Fact]
    public async Task Count_lets_the_request_through_with_the_rule_in_the_log_and_the_metric()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await StartAsync(backend);

        var response = await gateway.PostJsonAsync("/v1/events?debug=1", """{"temp":21}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var line = (await gateway.AccessLogLinesAsync(1)).Single();
        Assert.Equal("watch-debug", Rule(line));
        Assert.Equal(202, Status(line));
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_firewall_matches_total") >= 1);
        Assert.Equal(1, scrape.Sum("ingest_firewall_matches_total", ("rule", "watch-debug"), ("action", "count")));
        await Poll.UntilAsync(() => backend.Delivered.Count == 1, TimeSpan.FromSeconds(10));
        Assert.Equal("""{"temp":21}""", Encoding.UTF8.GetString(backend.Delivered.Values.Single().Body.Span));
    }

    [Fact]
    public async Task Body_rules_and_managed_sets_block_hostile_bodies_and_deliver_clean_ones_byte_identical()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await StartAsync(backend);
        // Larger than the 8 KiB prefix and sent chunked: the firewall peeks, the payload step reads it all.
        var big = "{\"pad\":\"" + new string('x', 200_000) + "\",\"tail\":\"eval(\"}";
        var gzipped = Gzip("""{"note":"<script>alert(1)</script>"}""");

        var evalBody = await gateway.PostJsonAsync("/v1/events", """{"cmd":"eval(1)"}""");
        var sqli = await gateway.PostJsonAsync("/v1/events", """{"name":"x' OR 1=1 --"}""");
        var xssGzip = await gateway.Client.PostAsync("/v1/events", Compressed(gzipped));
        var cleanBig = await gateway.Client.PostAsync("/v1/events", new ChunkedContent(Encoding.UTF8.GetBytes(big)).WithType());
        var cleanGzip = await gateway.Client.PostAsync("/v1/events", Compressed(Gzip("""{"note":"fine"}""")));

        await StatusCodeTests.AssertError(evalBody, 403, "Forbidden");
        await StatusCodeTests.AssertError(sqli, 403, "Forbidden");
        await StatusCodeTests.AssertError(xssGzip, 403, "Forbidden");
        Assert.Equal(HttpStatusCode.Accepted, cleanBig.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, cleanGzip.StatusCode);
        var lines = await gateway.AccessLogLinesAsync(5);
        Assert.Equal(["no-eval", "managed:sqli", "managed:xss", null, null], lines.Select(Rule));
        await Poll.UntilAsync(() => backend.Delivered.Count == 2, TimeSpan.FromSeconds(10));
        Assert.Contains(backend.Delivered.Values, e => Encoding.UTF8.GetString(e.Body.Span) == big);
    }

    [Fact]
    public async Task Rules_without_body_conditions_refuse_before_the_body_arrives()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Yaml.Replace("firewall: [watch-debug, no-eval], managedRules: [sqli, xss], ", "", StringComparison.Ordinal),
            new GatewayOptions { ConfigureServices = s => s.AddSingleton<ITargetKind>(backend) });
        var endPoint = new IPEndPoint(IPAddress.Loopback, gateway.Client.BaseAddress!.Port);

        // Promises 100 000 bytes and never sends them.
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(endPoint);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /v1/events HTTP/1.1\r\nHost: x\r\nUser-Agent: sqlmap\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"));
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var read = await stream.ReadAsync(buffer, timeout.Token);

        Assert.StartsWith("HTTP/1.1 403", Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RateBlock_refuses_a_client_over_the_limit_until_the_window_passes()
    {
        var backend = new RecordingTargetKind();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var gateway = await StartAsync(backend, """
            firewall:
              rules:
                - { id: per-ip, action: rateBlock, limit: 2, window: 10s }
            targets:
              rec: { type: recording, batch: { linger: 1ms } }
            routes:
              - { route: POST /v1/events, target: rec, auth: none, public: true, firewall: [per-ip] }
            """, time);

        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add((int)(await gateway.PostJsonAsync("/v1/events", "{}")).StatusCode);
        }
        time.Advance(TimeSpan.FromSeconds(20));
        statuses.Add((int)(await gateway.PostJsonAsync("/v1/events", "{}")).StatusCode);

        Assert.Equal([202, 202, 403, 202], statuses);
        var lines = await gateway.AccessLogLinesAsync(4);
        Assert.Equal([null, null, "per-ip", null], lines.Select(Rule));
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_firewall_matches_total") >= 1);
        Assert.Equal(1, scrape.Sum("ingest_firewall_matches_total", ("rule", "per-ip"), ("action", "rateBlock")));
    }

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }
        return output.ToArray();
    }

    private static ByteArrayContent Compressed(byte[] gzip)
    {
        var content = new ByteArrayContent(gzip);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    /// <summary>A body without Content-Length, so HttpClient sends it chunked.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var i = 0; i < body.Length; i += 16384)
            {
                await stream.WriteAsync(body.AsMemory(i, Math.Min(16384, body.Length - i)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        public ChunkedContent WithType()
        {
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            return this;
        }
    }
}
