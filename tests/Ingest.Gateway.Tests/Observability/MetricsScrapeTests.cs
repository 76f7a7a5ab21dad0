using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Observability;

/// <summary>The Prometheus scrape on the admin port: every DESIGN.md name, and exact counts for known traffic.</summary>
public class MetricsScrapeTests
{
    /// <summary>DESIGN.md "Access log and metrics": the exported names are part of the contract.</summary>
    public static readonly string[] DesignNames =
    [
        "ingest_requests_total",
        "ingest_request_latency_seconds",
        "ingest_integration_latency_seconds",
        "ingest_events_accepted_total",
        "ingest_events_delivered_total",
        "ingest_events_retried_total",
        "ingest_events_dead_lettered_total",
        "ingest_events_dropped_total",
        "ingest_channel_depth",
        "ingest_delivery_lag_seconds",
        "ingest_batch_size",
        "ingest_wal_bytes",
        "ingest_wal_fsyncs_total",
        "ingest_limiter_errors_total",
        "ingest_cache_hits_total",
        "ingest_cache_misses_total",
        "ingest_access_log_dropped_total",
    ];

    // A histogram is exported as name_bucket, name_sum and name_count.
    private static bool Exports(PrometheusText scrape, string name) =>
        scrape.Has(name) || scrape.Has(name + "_count");

    [Fact]
    public async Task Every_design_metric_name_is_exported_and_unfed_counters_start_at_zero()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              rec: { type: recording, batch: { linger: 1ms } }
            routes:
              - { route: POST /v1/events, target: rec, auth: none, public: true }
            """, new GatewayOptions { ConfigureServices = s => s.AddSingleton<ITargetKind>(backend) });

        // Counters nobody feeds yet are there at 0 before any traffic.
        var idle = await gateway.ScrapeAsync();
        foreach (var name in new[] { "ingest_wal_fsyncs_total", "ingest_limiter_errors_total", "ingest_cache_hits_total", "ingest_cache_misses_total", "ingest_access_log_dropped_total", "ingest_events_accepted_total", "ingest_wal_bytes" })
        {
            Assert.True(idle.Has(name), $"{name} missing before traffic:\n{idle.Text}");
            Assert.True(idle.Sum(name) == 0, $"{name} is not 0 before traffic:\n{idle.Text}");
        }
        Assert.Equal(0, idle.Sum("ingest_events_dead_lettered_total", ("target", "rec")));
        Assert.Equal(0, idle.Sum("ingest_requests_total", ("route", "POST /v1/events"), ("status_class", "5xx")));

        // Histograms appear with their first observation: one delivered batch feeds them all.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostJsonAsync("/v1/events", $$"""{"n":{{i}}}""")).StatusCode);
        }
        await Poll.UntilAsync(() => backend.Delivered.Count == 5, TimeSpan.FromSeconds(10));
        var scrape = await gateway.ScrapeUntilAsync(s => DesignNames.All(n => Exports(s, n)) && s.Sum("ingest_events_delivered_total", ("target", "rec")) == 5);

        var missing = DesignNames.Where(n => !Exports(scrape, n)).ToList();
        Assert.True(missing.Count == 0, $"not exported: {string.Join(", ", missing)}\n{scrape.Text}");
        Assert.Equal(5, scrape.Sum("ingest_events_delivered_total", ("target", "rec")));
        Assert.Equal(5, scrape.Sum("ingest_batch_size_sum", ("target", "rec")));
        Assert.Equal(5, scrape.Sum("ingest_delivery_lag_seconds_count", ("target", "rec")));
        Assert.True(scrape.Has("ingest_channel_depth"));
    }

    [Fact]
    public async Task Known_traffic_gives_exact_counts_in_the_access_log_and_the_scrape()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true, maxBodyBytes: 1000 }
            """);

        // 100 requests to the route: 90 accepted, 7 with a refused content type, 3 too large; and 4 to no route.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 100; i++)
        {
            HttpContent content = i switch
            {
                _ when i % 10 == 3 && i < 70 => new StringContent("x", Encoding.UTF8, "text/plain"),
                _ when i % 10 == 7 && i < 30 => new StringContent(new string('a', 2000), Encoding.UTF8, "application/json"),
                _ => new StringContent($$"""{"n":{{i}}}""", Encoding.UTF8, "application/json"),
            };
            var response = await gateway.Client.PostAsync("/v1/events", content);
            statuses.Add(response.StatusCode);
        }
        for (var i = 0; i < 4; i++)
        {
            statuses.Add((await gateway.PostJsonAsync("/nowhere", "{}")).StatusCode);
        }
        Assert.Equal(90, statuses.Count(s => s == HttpStatusCode.Accepted));
        Assert.Equal(7, statuses.Count(s => s == HttpStatusCode.UnsupportedMediaType));
        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.RequestEntityTooLarge));
        Assert.Equal(4, statuses.Count(s => s == HttpStatusCode.NotFound));

        var lines = await gateway.AccessLogLinesAsync(104);
        Assert.Equal(104, lines.Length);
        var logged = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(90, logged.Count(l => l.GetProperty("status").GetInt32() == 202));
        Assert.Equal(7, logged.Count(l => l.GetProperty("status").GetInt32() == 415));
        Assert.Equal(3, logged.Count(l => l.GetProperty("status").GetInt32() == 413));
        Assert.Equal(4, logged.Count(l => l.GetProperty("status").GetInt32() == 404));
        Assert.Equal(90, logged.Sum(l => l.GetProperty("events").GetInt32()));

        var route = ("route", "POST /v1/events");
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_requests_total") == 104);
        Assert.Equal(90, scrape.Sum("ingest_requests_total", route, ("stage", ""), ("status_class", "2xx")));
        Assert.Equal(10, scrape.Sum("ingest_requests_total", route, ("stage", ""), ("status_class", "4xx")));
        Assert.Equal(0, scrape.Sum("ingest_requests_total", route, ("stage", ""), ("status_class", "5xx")));
        Assert.Equal(4, scrape.Sum("ingest_requests_total", ("route", ""), ("status_class", "4xx")));
        Assert.Equal(104, scrape.Sum("ingest_requests_total"));
        Assert.Equal(100, scrape.Sum("ingest_request_latency_seconds_count", route));
        Assert.Equal(100, scrape.Sum("ingest_request_latency_seconds_bucket", route, ("le", "+Inf")));
        Assert.Equal(90, scrape.Sum("ingest_events_accepted_total"));
        Assert.Equal(90, scrape.Sum("ingest_events_delivered_total", ("target", "sink")));
        Assert.Equal(0, scrape.Sum("ingest_events_dropped_total"));
        Assert.Equal(0, scrape.Sum("ingest_access_log_dropped_total"));
    }
}
