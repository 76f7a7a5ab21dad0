using System.Net;
using BenchmarkDotNet.Attributes;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Ingest.Core.Throttling;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Benchmarks;

/// <summary>
/// The local throttle check, <see cref="ThrottlePolicy.AcquireAsync"/>, for known clients: key
/// lookup (route, API key, address, header value, usage plan) plus the lock-free bucket take.
/// Expected: 0 B allocated, also for refusals (their 429s are cached).
/// Run: <c>dotnet run -c Release --project benchmarks/Ingest.Benchmarks -- --filter '*ThrottleBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class ThrottleBenchmarks
{
    private const string Huge = "{ rate: 1000000000, burst: 1000000000";

    private ServiceProvider _services = null!;
    private ThrottlePolicy _route = null!;
    private ThrottlePolicy _sourceIp = null!;
    private ThrottlePolicy _apiKey = null!;
    private ThrottlePolicy _header = null!;
    private ThrottlePolicy _everything = null!;
    private ThrottlePolicy _refusing = null!;
    private RequestContext _context = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _services = new ServiceCollection().AddSingleton(TimeProvider.System).AddIngestThrottling().BuildServiceProvider();
        var config = ConfigLoader.Load($$"""
            throttle: {{Huge}} }
            apiKeys: [{ id: fleet-a, sha256: aa }]
            usagePlans: [{ name: standard, keys: [fleet-a], throttle: {{Huge}} }, quota: { limit: 1000000000000, period: day } }]
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /route, target: sink, throttle: {{Huge}} } }
              - { route: POST /ip, target: sink, throttle: {{Huge}}, by: sourceIp } }
              - { route: POST /key, target: sink, throttle: {{Huge}}, by: apiKey } }
              - { route: POST /header, target: sink, throttle: {{Huge}}, by: 'header:x-device-id' } }
              - { route: POST /refused, target: sink, throttle: { rate: 0.001, burst: 1 } }
            """);
        var routeOnly = ConfigLoader.Load($$"""
            targets: { sink: { type: blackhole } }
            routes: [{ route: POST /route, target: sink, throttle: {{Huge}} } }]
            """);
        _route = ThrottlePolicy.Compile(routeOnly, routeOnly.Routes[0], _services);
        _sourceIp = ThrottlePolicy.Compile(routeOnly, config.Routes[1], _services);
        _apiKey = ThrottlePolicy.Compile(routeOnly, config.Routes[2], _services);
        _header = ThrottlePolicy.Compile(routeOnly, config.Routes[3], _services);
        _everything = ThrottlePolicy.Compile(config, config.Routes[1], _services); // gateway + route by IP + plan bucket + quota
        _refusing = ThrottlePolicy.Compile(routeOnly, config.Routes[4], _services);

        var http = new DefaultHttpContext();
        http.Request.Headers["x-device-id"] = "device-000042";
        _context = new RequestContext
        {
            Http = http,
            Route = null!, // the throttle step does not read it
            RequestId = Guid.CreateVersion7(),
            ClientIp = IPAddress.Parse("198.51.100.23"),
            ApiKeyId = "fleet-a",
        };
        // Known clients: the first check adds them.
        foreach (var policy in new[] { _route, _sourceIp, _apiKey, _header, _everything, _refusing })
        {
            await policy.AcquireAsync(_context);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, Description = "by: route (one bucket)")]
    public ValueTask<Rejection?> Route() => _route.AcquireAsync(_context);

    [Benchmark(Description = "by: sourceIp (known address)")]
    public ValueTask<Rejection?> SourceIp() => _sourceIp.AcquireAsync(_context);

    [Benchmark(Description = "by: apiKey (known key)")]
    public ValueTask<Rejection?> ApiKey() => _apiKey.AcquireAsync(_context);

    [Benchmark(Description = "by: header:x-device-id (known value)")]
    public ValueTask<Rejection?> Header() => _header.AcquireAsync(_context);

    [Benchmark(Description = "gateway + route by IP + usage plan + quota")]
    public ValueTask<Rejection?> Everything() => _everything.AcquireAsync(_context);

    [Benchmark(Description = "refused: 429 (cached answer)")]
    public ValueTask<Rejection?> Refused() => _refusing.AcquireAsync(_context);
}
