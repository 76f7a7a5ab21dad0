using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Wal;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.TestSupport.Wal;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Ingest.Gateway.Tests.Durability;

/// <summary><c>ack: durable</c> through a real gateway: 202 only after the fsync covering the event, group commit, WAL full.</summary>
public sealed class DurableAckTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ingest-durable-").FullName;

    private static GatewayOptions With(RecordingWalFileSystem files, RecordingTargetKind? backend = null) => new()
    {
        ConfigureServices = services =>
        {
            services.AddSingleton<IWalFileSystem>(files);
            if (backend is not null)
            {
                services.AddSingleton<ITargetKind>(backend);
            }
        },
    };

    [Fact]
    public async Task At_64_connections_every_202_follows_the_fsync_of_its_record_and_fsyncs_are_under_a_tenth_of_requests()
    {
        // 4000 requests over 64 keep-alive connections: about 2 s on 2 cores.
        const int Requests = 4000;
        const int Connections = 64;
        var files = new RecordingWalFileSystem();
        await using var gateway = await ConsoleGateway.StartAsync($$"""
            wal: { path: "{{_directory}}" }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true, ack: durable }
            """, With(files));
        var acknowledgedAt = new ConcurrentDictionary<Guid, long>();
        var refused = 0;
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Connections };
        using var client = new HttpClient(handler) { BaseAddress = gateway.Client.BaseAddress };
        var next = -1;
        var clock = Stopwatch.StartNew();

        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < Requests)
            {
                using var response = await client.PostAsync("/v1/events", new StringContent($$"""{"n":{{next}},"pad":"{{new string('x', 200)}}"}""", Encoding.UTF8, "application/json"));
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    Interlocked.Increment(ref refused);
                    continue;
                }
                // Observed after the client got the 202, so after the server sent it.
                var at = files.Tick();
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                acknowledgedAt[body.RootElement.GetProperty("requestId").GetGuid()] = at;
            }
        }));
        var elapsed = clock.Elapsed;

        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_requests_total", ("route", "POST /v1/events")) == Requests);
        var fsyncs = scrape.Sum("ingest_wal_fsyncs_total");
        output.WriteLine($"{Requests} requests in {elapsed.TotalSeconds:F1} s over {Connections} connections: {fsyncs} fsyncs ({Requests / Math.Max(fsyncs, 1):F1} requests per fsync), {refused} refused");
        Assert.Equal(0, refused);
        Assert.Equal(Requests, acknowledgedAt.Count);
        foreach (var (id, at) in acknowledgedAt)
        {
            var write = files.WriteHolding(id);
            Assert.True(write is not null, $"no record written for {id}");
            Assert.True(write.FlushedAt < at, $"202 for {id} observed at {at}, its record flushed at {write.FlushedAt}");
        }
        Assert.InRange(fsyncs, 1, (Requests / 10) - 1);
    }

    [Fact]
    public async Task A_full_log_answers_503_with_retry_after_and_loses_nothing_it_acknowledged()
    {
        var backend = new RecordingTargetKind();
        backend.Close();
        var files = new RecordingWalFileSystem();
        await using var gateway = await ConsoleGateway.StartAsync($$"""
            wal: { path: "{{_directory}}", maxBytes: 200000, segmentBytes: 65536 }
            targets:
              q: { type: recording, batch: { linger: 1ms, maxInFlight: 1 } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true, ack: durable, maxBodyBytes: 8192 }
            """, With(files, backend));

        var accepted = new List<Guid>();
        HttpResponseMessage? full = null;
        for (var i = 0; i < 400 && full is null; i++)
        {
            var response = await gateway.PostJsonAsync("/v1/events", $$"""{"n":{{i}},"pad":"{{new string('x', 2000)}}"}""");
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add(Guid.Parse(response.Headers.GetValues("x-request-id").Single()));
            }
            else
            {
                full = response;
            }
        }

        Assert.NotNull(full);
        await Requests.StatusCodeTests.AssertError(full, 503, "Service Unavailable");
        Assert.Equal("1", full.Headers.GetValues("Retry-After").Single());
        Assert.InRange(accepted.Count, 50, 100);

        backend.Open();
        await Poll.UntilAsync(() => accepted.All(backend.Delivered.ContainsKey), TimeSpan.FromSeconds(10));
        // Delivered events free their segments: room again.
        var deadline = Stopwatch.StartNew();
        while ((await gateway.PostJsonAsync("/v1/events", "{}")).StatusCode != HttpStatusCode.Accepted)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "no room in the log after every event was delivered");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_split_request_waits_for_one_commit_and_readiness_reports_the_log_writable()
    {
        var files = new RecordingWalFileSystem();
        await using var gateway = await ConsoleGateway.StartAsync($$"""
            wal: { path: "{{_directory}}" }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/batch, target: sink, auth: none, public: true, ack: durable, split: ndjson, contentTypes: [application/x-ndjson] }
            """, With(files));

        var response = await gateway.Client.PostAsync("/v1/batch", new StringContent("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", Encoding.UTF8, "application/x-ndjson"));
        var at = files.Tick();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(3, body.RootElement.GetProperty("accepted").GetInt32());
        var write = files.WriteHolding(body.RootElement.GetProperty("requestId").GetGuid());
        Assert.NotNull(write);
        Assert.True(write.FlushedAt < at);

        var ready = await gateway.Anonymous.GetAsync("/readyz");
        var text = await ready.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var checks = JsonDocument.Parse(text);
        var wal = checks.RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "wal");
        Assert.True(wal.GetProperty("ok").GetBoolean());
        Assert.StartsWith("WAL writable", wal.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_disk_answers_503_and_readiness_says_the_log_is_not_writable()
    {
        var files = new RecordingWalFileSystem();
        await using var gateway = await ConsoleGateway.StartAsync($$"""
            wal: { path: "{{_directory}}" }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true, ack: durable }
            """, With(files));
        files.FailFlushes = true;

        var response = await gateway.PostJsonAsync("/v1/events", "{}");

        await Requests.StatusCodeTests.AssertError(response, 503, "Service Unavailable");
        var ready = await gateway.Anonymous.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("WAL not writable", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        files.FailFlushes = false;
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostJsonAsync("/v1/events", "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/readyz")).StatusCode);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
