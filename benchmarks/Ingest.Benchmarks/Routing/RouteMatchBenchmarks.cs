using BenchmarkDotNet.Attributes;
using Ingest.Core.Routing;

namespace Ingest.Benchmarks.Routing;

/// <summary>
/// <see cref="RouteTable{TRoute}.Match"/> over a table of 20 routes (literal, <c>{param}</c> and
/// greedy <c>{proxy+}</c>), the first thing every request does. Expected: 0 B allocated.
/// </summary>
[MemoryDiagnoser]
public class RouteMatchBenchmarks
{
    private static readonly string[] Routes =
    [
        "POST /v1/events",
        "POST /v1/clicks",
        "POST /v1/sink",
        "POST /v1/metrics",
        "POST /v1/logs",
        "GET /v1/status",
        "PUT /v1/config",
        "POST /v2/events",
        "POST /v2/batch",
        "POST /v1/devices/{id}/events",
        "POST /v1/devices/{id}/telemetry",
        "GET /v1/devices/{id}",
        "DELETE /v1/devices/{id}",
        "POST /v1/tenants/{tenant}/streams/{stream}/records",
        "GET /v1/tenants/{tenant}/streams/{stream}",
        "POST /v2/devices/{id}/events",
        "ANY /orders/{proxy+}",
        "GET /files/{key+}",
        "PUT /files/{key+}",
        "POST /hooks/{source}",
    ];

    private RouteTable<string> _table = null!;

    [GlobalSetup]
    public void Setup() =>
        _table = new RouteTable<string>(Routes.Select(r =>
        {
            var space = r.IndexOf(' ', StringComparison.Ordinal);
            return (r[..space], RouteTemplate.TryParse(r[(space + 1)..], out _)!, r);
        }));

    [Benchmark(Baseline = true, Description = "literal POST /v1/events")]
    public RouteMatchKind Literal() => _table.Match("POST", "/v1/events", out _, out _, out _);

    [Benchmark(Description = "template POST /v1/devices/{id}/events")]
    public RouteMatchKind Template() => _table.Match("POST", "/v1/devices/dev-000042/events", out _, out _, out _);

    [Benchmark(Description = "template, 2 params, 6 segments")]
    public RouteMatchKind TemplateDeep() => _table.Match("POST", "/v1/tenants/acme/streams/clicks/records", out _, out _, out _);

    [Benchmark(Description = "greedy ANY /orders/{proxy+}")]
    public RouteMatchKind Greedy() => _table.Match("PATCH", "/orders/2026/11/25/o-123", out _, out _, out _);

    [Benchmark(Description = "405: GET /v1/events")]
    public RouteMatchKind MethodNotAllowed() => _table.Match("GET", "/v1/events", out _, out _, out _);

    [Benchmark(Description = "404: /nope/x/y")]
    public RouteMatchKind NotFound() => _table.Match("POST", "/nope/x/y", out _, out _, out _);
}
