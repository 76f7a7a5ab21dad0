using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Throttling;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Throttling;

/// <summary>
/// Shared limits through a real redis-server: gateway instances in one process, each with its own
/// throttle store and Redis connection, as separate processes would have.
/// </summary>
/// <remarks>
/// The load test runs for INGEST_REDIS_TEST_SECONDS seconds (default 10):
/// <c>INGEST_REDIS_TEST_SECONDS=30 dotnet test tests/Ingest.IntegrationTests --filter FullyQualifiedName~RedisThrottleTests</c>.
/// </remarks>
[Trait("Category", "Standins")]
[Collection(nameof(RedisThrottleTests))] // the outage tests time their phases: not beside each other
public class RedisThrottleTests(ITestOutputHelper output)
{
    /// <summary>The shared stand-in (scripts/standins.sh start redis).</summary>
    private const string StandInEndpoint = "127.0.0.1:6390";

    /// <summary>SHA-256 of "secret".</summary>
    private const string SecretHash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    private static readonly TimeSpan ResumeLimit = TimeSpan.FromSeconds(5);

    private static TimeSpan LoadDuration =>
        TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("INGEST_REDIS_TEST_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 10);

    [Fact]
    public async Task Two_instances_sharing_redis_accept_rate_times_seconds_plus_burst()
    {
        const double rate = 100;
        const int burst = 50;
        var prefix = $"it-{Guid.NewGuid():N}:";
        var routeThrottle = $", throttle: {{ rate: {rate}, burst: {burst} }}";
        // A generous timeout: this measures sharing, not the fallback (a check that times out is
        // decided by the instance's own buckets, which a busy test machine would turn into noise).
        await using var first = await StartGatewayAsync(StandInEndpoint, "local", prefix, null, routeThrottle: routeThrottle, timeout: "2s");
        await using var second = await StartGatewayAsync(StandInEndpoint, "local", prefix, null, routeThrottle: routeThrottle, timeout: "2s");

        // Offered: 4x the limit, split evenly over both instances.
        var load = await PacedLoad.RunAsync([BaseAddress(first), BaseAddress(second)], "/v1/events", 4 * rate, LoadDuration, warmupPath: "/warmup");

        var accepted = load.Count(202);
        var expected = (rate * load.Elapsed.TotalSeconds) + burst;
        // Checks Redis did not answer in time fell back to each instance's own buckets: say so when it happened.
        var fallbacks = await LimiterErrorsAsync(first) + await LimiterErrorsAsync(second);
        output.WriteLine($"{load.Elapsed.TotalSeconds:0.00} s, sent {load.Sent}, accepted {accepted}, expected {expected:0} ({(accepted - expected) / expected:+0.0%;-0.0%}), {load.Summary}, slowest {load.MaxLatency.TotalMilliseconds:0} ms, limiter errors {fallbacks}");
        Assert.Equal(load.Sent, accepted + load.Count(429));
        Assert.InRange(accepted, expected * 0.95, expected * 1.05);
        // Both instances served a share: the limit is shared, not per instance.
        Assert.InRange(load.Count(0, 202), accepted / 4, accepted * 3 / 4);
        Assert.Equal(0, await CountKeysWithoutTtlAsync(prefix));
    }

    [Fact]
    public async Task Quota_is_shared_by_instances_and_counted_once_per_accepted_request()
    {
        var prefix = $"it-{Guid.NewGuid():N}:";
        var plans = $$"""
            apiKeys: [{ id: fleet-a, sha256: {{SecretHash}} }]
            usagePlans: [{ name: standard, keys: [fleet-a], throttle: { rate: 1000, burst: 1000 }, quota: { limit: 25, period: day } }]
            """;
        await using var first = await StartGatewayAsync(StandInEndpoint, "local", prefix, null, plans, "[apiKey]", timeout: "2s");
        await using var second = await StartGatewayAsync(StandInEndpoint, "local", prefix, null, plans, "[apiKey]", timeout: "2s");

        var load = await PacedLoad.RunAsync([BaseAddress(first), BaseAddress(second)], "/v1/events", 200, TimeSpan.FromSeconds(0.5),
            decorate: r => { r.Headers.Add("x-api-key", "secret"); return r; });

        output.WriteLine(load.Summary);
        Assert.Equal(25, load.Count(202));
        Assert.Equal(load.Sent - 25, load.Count(429));
        using var client = new HttpClient { BaseAddress = BaseAddress(second) };
        var refused = await client.SendAsync(Post("secret"));
        Assert.Equal(429, (int)refused.StatusCode);
        Assert.Equal("Limit Exceeded", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString());
        var untilMidnight = 86400 - ((long)DateTimeOffset.UtcNow.TimeOfDay.TotalSeconds);
        Assert.InRange(long.Parse(refused.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture), untilMidnight - 5, untilMidnight + 5);
        Assert.Equal("0", refused.Headers.GetValues("X-Quota-Remaining").Single());
        var usage = await first.Services.GetRequiredService<QuotaUsage>().GetAsync(first.Services.GetRequiredService<IngestConfig>(), "fleet-a");
        Assert.Equal((25L, 0L, true), (usage!.Used, usage.Remaining, usage.Shared));
    }

    [Fact]
    public async Task Redis_stopped_mid_run_local_keeps_serving_deny_answers_503_and_shared_limits_resume_within_5s()
    {
        await using var redis = await RedisServerProcess.StartNewAsync();
        var prefix = $"it-{Guid.NewGuid():N}:";
        const string throttle = "throttle: { rate: 1000, burst: 1000 }";
        await using var local = await StartGatewayAsync(redis.Endpoint, "local", prefix, throttle);
        await using var deny = await StartGatewayAsync(redis.Endpoint, "deny", prefix, throttle);
        using var localClient = new HttpClient { BaseAddress = BaseAddress(local) };
        using var denyClient = new HttpClient { BaseAddress = BaseAddress(deny) };
        Assert.Equal(202, (int)(await localClient.SendAsync(Post())).StatusCode);
        Assert.Equal(202, (int)(await denyClient.SendAsync(Post())).StatusCode);

        await redis.StopAsync();
        var down = await PacedLoad.RunAsync([BaseAddress(local), BaseAddress(deny)], "/v1/events", 100, TimeSpan.FromSeconds(2));

        output.WriteLine($"Redis down 2 s: {down.Summary}; answers p50 {down.Percentile(0.5).TotalMilliseconds:0.0} ms, p99 {down.Percentile(0.99).TotalMilliseconds:0.0} ms, slowest {down.MaxLatency.TotalMilliseconds:0} ms; slow: {down.SlowSummary}");
        Assert.Equal(down.Sent / 2, down.Count(0, 202));
        Assert.Equal(down.Sent / 2, down.Count(1, 503));
        // A crashed Redis refuses connections: no request waits for it (the bound is loose for busy machines).
        Assert.True(down.Percentile(0.95) < TimeSpan.FromMilliseconds(250), $"95% of answers took up to {down.Percentile(0.95)}");
        Assert.True(down.MaxLatency < TimeSpan.FromSeconds(2), $"answers took up to {down.MaxLatency}");
        var refused = await denyClient.SendAsync(Post());
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        Assert.Equal("Service Unavailable", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString());
        Assert.True(await LimiterErrorsAsync(local) > 0);

        await redis.StartAsync();
        var restarted = Stopwatch.StartNew();
        await using var check = await redis.ConnectAsync();
        var bucketKey = $"{prefix}b:gateway";
        var (localResumed, denyResumed) = (TimeSpan.Zero, TimeSpan.Zero);
        for (var i = 0; i < 1000 && restarted.Elapsed < ResumeLimit + TimeSpan.FromSeconds(5) && (localResumed == TimeSpan.Zero || denyResumed == TimeSpan.Zero); i++)
        {
            // The restarted Redis is empty: the bucket key reappears once an instance checks there again.
            await check.GetDatabase().KeyDeleteAsync(bucketKey);
            if (localResumed == TimeSpan.Zero && (int)(await localClient.SendAsync(Post())).StatusCode == 202 && await check.GetDatabase().KeyExistsAsync(bucketKey))
            {
                localResumed = restarted.Elapsed;
            }
            if (denyResumed == TimeSpan.Zero && (int)(await denyClient.SendAsync(Post())).StatusCode == 202)
            {
                denyResumed = restarted.Elapsed;
            }
            await Task.Delay(50);
        }
        output.WriteLine($"shared limits resumed {localResumed.TotalSeconds:0.00} s (onFailure: local) and {denyResumed.TotalSeconds:0.00} s (onFailure: deny) after Redis answered again");
        Assert.InRange(localResumed, TimeSpan.FromTicks(1), ResumeLimit);
        Assert.InRange(denyResumed, TimeSpan.FromTicks(1), ResumeLimit);
    }

    [Fact]
    public async Task Hung_redis_costs_each_request_at_most_the_timeout_and_limits_resume_when_it_answers()
    {
        await using var redis = await RedisServerProcess.StartNewAsync();
        var prefix = $"it-{Guid.NewGuid():N}:";
        const string throttle = "throttle: { rate: 1000, burst: 1000 }";
        await using var local = await StartGatewayAsync(redis.Endpoint, "local", prefix, throttle);
        await using var deny = await StartGatewayAsync(redis.Endpoint, "deny", prefix, throttle);
        await using var admin = await redis.ConnectAsync();
        using var denyClient = new HttpClient { BaseAddress = BaseAddress(deny) };
        Assert.Equal(202, (int)(await denyClient.SendAsync(Post())).StatusCode);

        // Every client is paused for 3 s: commands are neither answered nor refused.
        await admin.GetServer(redis.Endpoint).ExecuteAsync("CLIENT", "PAUSE", "3000", "ALL");
        var paused = Stopwatch.StartNew();
        var hung = await PacedLoad.RunAsync([BaseAddress(local), BaseAddress(deny)], "/v1/events", 100, TimeSpan.FromSeconds(2));

        output.WriteLine($"Redis hung 2 s: {hung.Summary}; answers p50 {hung.Percentile(0.5).TotalMilliseconds:0.0} ms, p99 {hung.Percentile(0.99).TotalMilliseconds:0.0} ms, slowest {hung.MaxLatency.TotalMilliseconds:0} ms; slow: {hung.SlowSummary}");
        Assert.Equal(hung.Sent / 2, hung.Count(0, 202));
        Assert.Equal(hung.Sent / 2, hung.Count(1, 503));
        // Only the requests in flight when it hung and one probe a second wait, each at most redis.timeout (250 ms).
        Assert.True(hung.Percentile(0.8) < TimeSpan.FromMilliseconds(100), $"80% of answers took up to {hung.Percentile(0.8)}");
        // The slowest: a timeout plus what a busy machine adds to firing its timer (up to ~0.8 s
        // seen with both cores taken by another process).
        Assert.True(hung.MaxLatency < TimeSpan.FromSeconds(2), $"answers took up to {hung.MaxLatency}");

        var resumed = TimeSpan.Zero;
        for (var i = 0; i < 1000 && paused.Elapsed < TimeSpan.FromSeconds(3) + ResumeLimit + TimeSpan.FromSeconds(5); i++)
        {
            if ((int)(await denyClient.SendAsync(Post())).StatusCode == 202)
            {
                resumed = paused.Elapsed - TimeSpan.FromSeconds(3);
                break;
            }
            await Task.Delay(50);
        }
        output.WriteLine($"limits resumed {resumed.TotalSeconds:0.00} s after the pause ended");
        Assert.InRange(resumed, TimeSpan.FromSeconds(-0.5), ResumeLimit);
    }

    private static HttpRequestMessage Post(string? apiKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("""{"temp":21}""", Encoding.UTF8, "application/json") };
        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
        }
        return request;
    }

    private static Uri BaseAddress(WebApplication app) => new($"http://{app.Services.GetRequiredService<GatewayEndpoints>().PublicEndPoints[0]}");

    private static async Task<WebApplication> StartGatewayAsync(string endpoint, string onFailure, string prefix, string? gatewayThrottle, string? more = null, string auth = "none, public: true", string routeThrottle = "", string timeout = "250ms")
    {
        var config = ConfigLoader.Load($$"""
            listen: [{ address: "127.0.0.1:0", protocols: http1 }]
            admin: { listen: "127.0.0.1:0" }
            accessLog: { path: off }
            redis: { endpoint: "{{endpoint}}", onFailure: {{onFailure}}, keyPrefix: "{{prefix}}", timeout: {{timeout}} }
            {{gatewayThrottle}}
            {{more}}
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: {{auth}}{{routeThrottle}} }
              - { route: POST /warmup, target: sink, auth: none, public: true }
            """);
        var app = GatewayHost.Build(config);
        await app.StartAsync();
        return app;
    }

    private static async Task<double> LimiterErrorsAsync(WebApplication app)
    {
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{app.Services.GetRequiredService<GatewayEndpoints>().AdminEndPoint}") };
        var text = await admin.GetStringAsync("/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith("ingest_limiter_errors_total", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    private static async Task<int> CountKeysWithoutTtlAsync(string prefix)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(StandInEndpoint);
        var database = redis.GetDatabase();
        var without = 0;
        await foreach (var key in redis.GetServer(StandInEndpoint).KeysAsync(pattern: prefix + "*"))
        {
            if (await database.KeyTimeToLiveAsync(key) is null)
            {
                without++;
            }
        }
        return without;
    }
}
