using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Status;
using Ingest.Gateway.Tests.Admin;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Gateway.Tests.Status;

/// <summary>The status page's endpoints and the in-process one-second windows behind them.</summary>
public class StatusDataTests
{
    private const string Config = """
        targets:
          sink: { type: blackhole }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true, maxBodyBytes: 1000 }
        """;

    [Fact]
    public async Task Data_reports_last_minute_counts_rates_and_latency_per_route_and_target()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);
        for (var i = 0; i < 100; i++)
        {
            var content = i < 7 ? new StringContent("x", Encoding.UTF8, "text/plain")
                : i < 10 ? new StringContent(new string('a', 2000), Encoding.UTF8, "application/json")
                : new StringContent("{}", Encoding.UTF8, "application/json");
            await gateway.Client.PostAsync("/v1/events", content);
        }

        using var data = JsonDocument.Parse(await gateway.Admin.GetStringAsync("/status/data"));

        Assert.Equal(60, data.RootElement.GetProperty("windowSeconds").GetInt32());
        var route = Assert.Single(data.RootElement.GetProperty("routes").EnumerateArray());
        Assert.Equal("POST /v1/events", route.GetProperty("route").GetString());
        Assert.Equal(100, route.GetProperty("requests").GetInt64());
        Assert.Equal(10, route.GetProperty("errors4xx").GetInt64());
        Assert.Equal(0, route.GetProperty("errors5xx").GetInt64());
        Assert.Equal(1.667, route.GetProperty("ratePerSecond").GetDouble());
        Assert.Equal(0.167, route.GetProperty("rate4xx").GetDouble());
        var p50 = route.GetProperty("p50Ms").GetDouble();
        var p95 = route.GetProperty("p95Ms").GetDouble();
        var p99 = route.GetProperty("p99Ms").GetDouble();
        Assert.True(p50 > 0 && p50 <= p95 && p95 <= p99, $"{p50} {p95} {p99}");
        var target = Assert.Single(data.RootElement.GetProperty("targets").EnumerateArray());
        Assert.Equal("sink", target.GetProperty("name").GetString());
        Assert.Equal(0, target.GetProperty("queued").GetInt32());
        Assert.Equal(90, target.GetProperty("delivered").GetInt64());
    }

    [Fact]
    public async Task Page_is_static_and_open_while_its_data_needs_the_token()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);

        var page = await gateway.Anonymous.GetAsync("/status");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/status/status.js\"", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/status/status.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/status/status.css")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Anonymous.GetAsync("/status/nothing.js")).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Anonymous.GetAsync("/status/data")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Anonymous.GetAsync("/status/data?token=wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync($"/status/data?token={ConsoleGateway.Token}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Admin.GetAsync("/status/data")).StatusCode);
    }

    [Fact]
    public void Window_keeps_the_last_sixty_seconds_and_forgets_older_ones()
    {
        var time = new FakeTimeProvider();
        var board = new StatusBoard(new GatewayOptions { TimeProvider = time });

        board.Record("r", 202, TimeSpan.FromMilliseconds(1));
        board.Record("r", 503, TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromSeconds(1));
        board.Record("r", 404, TimeSpan.FromMilliseconds(10));
        board.Record(null, 404, TimeSpan.FromMilliseconds(1));

        var now = board.Summarize(["r", "idle"]).ToDictionary(x => x.Route, x => x.Summary);
        Assert.Equal(3, now["r"].Count);
        Assert.Equal(1, now["r"].Errors4xx);
        Assert.Equal(1, now["r"].Errors5xx);
        Assert.Equal(2, now["r"].LastSecond);
        Assert.Equal(0, now["idle"].Count);
        Assert.Null(now["idle"].P50Ms);
        Assert.Equal(1, now[StatusBoard.Unmatched].Count);
        // Percentiles are bucket midpoints within about 12%.
        Assert.InRange(now["r"].P50Ms!.Value, 8.8, 11.2);
        Assert.InRange(now["r"].P99Ms!.Value, 88, 112);

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(1, board.Summarize([]).Single(x => x.Route == "r").Summary.Count);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, board.Summarize([]).Single(x => x.Route == "r").Summary.Count);

        // A reused bucket starts from zero.
        board.Record("r", 200, TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, board.Summarize([]).Single(x => x.Route == "r").Summary.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(1000)]
    [InlineData(29_000_000)]
    public void Latency_buckets_contain_their_value(long micros)
    {
        var bin = SecondWindow.Bin(micros);
        var midpoint = SecondWindow.Midpoint(bin) * 1000;

        Assert.InRange(midpoint, micros * 0.85, Math.Max(micros * 1.15, micros + 0.5));
        Assert.True(SecondWindow.Bin(micros + 1) >= bin);
    }
}
