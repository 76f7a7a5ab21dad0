using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Gateway.Tests.Throttling;

/// <summary>The throttle step's answers through a real Kestrel, on a fake clock.</summary>
public class ThrottleTests
{
    /// <summary>SHA-256 of "secret".</summary>
    private const string SecretHash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    private static StringContent Json() => new("""{"temp":21}""", Encoding.UTF8, "application/json");

    private static HttpRequestMessage Post(string path, string? apiKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json() };
        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
        }
        return request;
    }

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    [Fact]
    public async Task Empty_route_bucket_answers_429_too_many_requests_with_rate_limit_headers()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        await using var gateway = await TestGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true, throttle: { rate: 1, burst: 2 } }
            """, new GatewayOptions { TimeProvider = time });

        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/events"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/events"))).StatusCode);
        time.Advance(TimeSpan.FromMilliseconds(400));
        var refused = await gateway.Client.SendAsync(Post("/v1/events"));

        await StatusCodeTests.AssertError(refused, 429, "Too Many Requests");
        Assert.Equal("1", Header(refused, "Retry-After"));            // 0.6 s to a token, rounded up
        Assert.Equal("2", Header(refused, "X-RateLimit-Limit"));      // burst
        Assert.Equal("0", Header(refused, "X-RateLimit-Remaining"));
        Assert.Equal("2", Header(refused, "X-RateLimit-Reset"));      // 1.6 s until full
        Assert.True(refused.Headers.Contains("x-request-id"));

        time.Advance(TimeSpan.FromMilliseconds(600));
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/events"))).StatusCode);

        var statuses = (await gateway.AccessLogLinesAsync(4))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetInt32());
        Assert.Equal([202, 202, 429, 202], statuses);
    }

    [Fact]
    public async Task Gateway_bucket_limits_all_routes_together()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        await using var gateway = await TestGateway.StartAsync("""
            throttle: { rate: 0.5, burst: 2 }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /a, target: sink, auth: none, public: true }
              - { route: POST /b, target: sink, auth: none, public: true }
            """, new GatewayOptions { TimeProvider = time });

        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/a"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/b"))).StatusCode);
        var refused = await gateway.Client.SendAsync(Post("/a"));

        await StatusCodeTests.AssertError(refused, 429, "Too Many Requests");
        Assert.Equal("2", Header(refused, "Retry-After"));
        Assert.Equal("4", Header(refused, "X-RateLimit-Reset"));
    }

    [Fact]
    public async Task Used_up_quota_answers_429_limit_exceeded_until_the_period_ends()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 23, 0, 0, TimeSpan.Zero));
        await using var gateway = await TestGateway.StartAsync($$"""
            apiKeys:
              - { id: fleet-a, sha256: {{SecretHash}} }
            usagePlans:
              - { name: standard, keys: [fleet-a], quota: { limit: 2, period: day } }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/clicks, target: sink, auth: [apiKey] }
            """, new GatewayOptions { TimeProvider = time });

        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/clicks", "secret"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/clicks", "secret"))).StatusCode);
        var refused = await gateway.Client.SendAsync(Post("/v1/clicks", "secret"));

        await StatusCodeTests.AssertError(refused, 429, "Limit Exceeded");
        Assert.Equal("3600", Header(refused, "Retry-After"));         // until 00:00 UTC
        Assert.Equal("0", Header(refused, "X-Quota-Remaining"));
        Assert.Equal("2", Header(refused, "X-Quota-Limit"));

        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/clicks", "secret"))).StatusCode);
    }
}
