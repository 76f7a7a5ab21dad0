using BenchmarkDotNet.Attributes;
using Ingest.Core.Routing;

namespace Ingest.Benchmarks.Routing;

/// <summary><see cref="RouteTemplate.Matches"/> for each segment kind. Expected: 0 B allocated.</summary>
[MemoryDiagnoser]
public class RouteTemplateBenchmarks
{
    private RouteTemplate _literal = null!;
    private RouteTemplate _parameter = null!;
    private RouteTemplate _greedy = null!;

    [GlobalSetup]
    public void Setup()
    {
        _literal = RouteTemplate.TryParse("/v1/devices/events", out _)!;
        _parameter = RouteTemplate.TryParse("/v1/devices/{id}/events", out _)!;
        _greedy = RouteTemplate.TryParse("/orders/{proxy+}", out _)!;
    }

    /// <summary>What a literal comparison of the same path costs without the segment walk.</summary>
    [Benchmark(Baseline = true, Description = "string.Equals (ordinal), same path")]
    public bool OrdinalEquals() => string.Equals("/v1/devices/events", _literal.Text, StringComparison.Ordinal);

    [Benchmark(Description = "literal /v1/devices/events")]
    public bool Literal() => _literal.Matches("/v1/devices/events");

    [Benchmark(Description = "param /v1/devices/{id}/events")]
    public bool Parameter() => _parameter.Matches("/v1/devices/dev-000042/events");

    [Benchmark(Description = "greedy /orders/{proxy+}")]
    public bool Greedy() => _greedy.Matches("/orders/2026/11/25/o-123");

    [Benchmark(Description = "mismatch at 2nd segment")]
    public bool Mismatch() => _parameter.Matches("/v1/tenants/dev-000042/events");
}
