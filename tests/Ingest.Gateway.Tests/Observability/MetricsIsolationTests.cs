using Ingest.Gateway.Tests.Admin;

namespace Ingest.Gateway.Tests.Observability;

/// <summary>
/// The OpenTelemetry SDK subscribes to meters by name, so without a filter a gateway's scrape
/// would count the "Ingest" instruments of every other gateway in the process, and lose its own
/// streams when another one shuts down.
/// </summary>
public class MetricsIsolationTests
{
    private const string Yaml = """
        targets:
          sink: { type: blackhole }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
        """;

    [Fact]
    public async Task Two_gateways_in_one_process_each_export_only_their_own_counts()
    {
        var a = await ConsoleGateway.StartAsync(Yaml);
        try
        {
            await a.PostJsonAsync("/v1/events", "{}");
            await using (var b = await ConsoleGateway.StartAsync(Yaml))
            {
                await b.PostJsonAsync("/v1/events", "{}");
                await b.PostJsonAsync("/v1/events", "{}");

                Assert.Equal(2, (await b.ScrapeUntilAsync(s => s.Sum("ingest_events_accepted_total") == 2)).Sum("ingest_events_accepted_total"));
                Assert.Equal(1, (await a.ScrapeAsync()).Sum("ingest_events_accepted_total"));
            }

            // B is gone; A keeps counting on its own streams.
            await a.PostJsonAsync("/v1/events", "{}");
            var after = await a.ScrapeUntilAsync(s => s.Sum("ingest_events_accepted_total") == 2);
            Assert.Equal(2, after.Sum("ingest_events_accepted_total"));
            Assert.Equal(2, after.Sum("ingest_requests_total", ("status_class", "2xx")));
        }
        finally
        {
            await a.DisposeAsync();
        }
    }
}
