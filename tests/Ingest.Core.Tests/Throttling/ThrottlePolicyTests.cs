using Ingest.Core.Throttling;

namespace Ingest.Core.Tests.Throttling;

/// <summary>Token buckets, headers and keys of the local throttle, on a fake clock.</summary>
public class ThrottlePolicyTests
{
    private static string Route(string throttle) => $$"""
        routes:
          - { route: POST /a, target: sink, throttle: {{throttle}} }
        """;

    [Fact]
    public void Burst_passes_at_once_then_tokens_refill_at_the_rate()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 10, burst: 5 }"));
        var request = ThrottleTestKit.Request();

        policy.AllowsExactly(request, 5);

        kit.Advance(0.1); // one token
        policy.AllowsExactly(request, 1);
        kit.Advance(0.35); // three and a half tokens
        policy.AllowsExactly(request, 3);
        kit.Advance(10); // never more than the burst
        policy.AllowsExactly(request, 5);
    }

    [Theory]
    [InlineData(0.0, "3")]   // 2.5 s to the next token: rounded up
    [InlineData(0.5, "2")]   // exactly 2 s: not rounded further
    [InlineData(2.499, "1")] // 1 ms
    public void Retry_after_is_the_seconds_until_a_token_frees_rounded_up(double waited, string retryAfter)
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 0.4, burst: 1 }"));
        var request = ThrottleTestKit.Request();
        policy.Allowed(request);

        kit.Advance(waited);
        var rejection = policy.Refused(request);

        Assert.Equal(retryAfter, rejection.Header("Retry-After"));
    }

    [Fact]
    public void Retry_after_is_at_least_one_second_and_waiting_that_long_passes()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 1000, burst: 1 }"));
        var request = ThrottleTestKit.Request();
        policy.Allowed(request);

        var rejection = policy.Refused(request);
        Assert.Equal("1", rejection.Header("Retry-After"));

        kit.Advance(0.001);
        policy.Allowed(request);
    }

    [Fact]
    public void Throttled_answer_carries_limit_remaining_and_seconds_until_full()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 2, burst: 5 }"));
        var request = ThrottleTestKit.Request();
        policy.AllowsExactly(request, 5);
        kit.Advance(0.2);

        var rejection = policy.Refused(request);

        Assert.Equal("1", rejection.Header("Retry-After"));        // 0.3 s to the next token
        Assert.Equal("5", rejection.Header("X-RateLimit-Limit"));   // bucket size
        Assert.Equal("0", rejection.Header("X-RateLimit-Remaining"));
        Assert.Equal("3", rejection.Header("X-RateLimit-Reset"));   // 2.3 s until 5 tokens again
        Assert.Equal("throttled by route POST /a", rejection.LogReason);
        Assert.Contains("Too Many Requests", System.Text.Encoding.UTF8.GetString(rejection.Body), StringComparison.Ordinal);
    }

    [Fact]
    public void Keyed_by_api_key_each_key_has_its_own_bucket()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 1, burst: 2, by: apiKey }"));

        policy.AllowsExactly(ThrottleTestKit.Request("fleet-a"), 2);
        policy.AllowsExactly(ThrottleTestKit.Request("fleet-b"), 2);
        policy.Refused(ThrottleTestKit.Request("fleet-a"));
    }

    [Fact]
    public void Keyed_by_source_ip_each_address_has_its_own_bucket_and_ipv6_counts_per_64()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 1, burst: 1, by: sourceIp }"));

        policy.AllowsExactly(ThrottleTestKit.Request(ip: "198.51.100.7"), 1);
        policy.AllowsExactly(ThrottleTestKit.Request(ip: "198.51.100.8"), 1);
        policy.Refused(ThrottleTestKit.Request(ip: "::ffff:198.51.100.7")); // the same IPv4 client, mapped
        policy.AllowsExactly(ThrottleTestKit.Request(ip: "2001:db8:1:2::1"), 1);
        policy.Refused(ThrottleTestKit.Request(ip: "2001:db8:1:2:ffff::9")); // same /64
        policy.Allowed(ThrottleTestKit.Request(ip: "2001:db8:1:3::1"));
    }

    [Fact]
    public void Keyed_by_header_each_value_has_its_own_bucket_and_long_values_are_hashed()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 1, burst: 1, by: 'header:x-device-id' }"));
        var longA = new string('a', 300);
        var longB = new string('a', 299) + "b";

        policy.AllowsExactly(ThrottleTestKit.Request(headers: ("x-device-id", "d-1")), 1);
        policy.AllowsExactly(ThrottleTestKit.Request(headers: ("x-device-id", "d-2")), 1);
        policy.AllowsExactly(ThrottleTestKit.Request(headers: ("x-device-id", longA)), 1);
        policy.AllowsExactly(ThrottleTestKit.Request(headers: ("x-device-id", longB)), 1);
        policy.AllowsExactly(ThrottleTestKit.Request(), 1); // no header: one shared bucket
        policy.Refused(ThrottleTestKit.Request(headers: ("other", "x")));
    }

    [Fact]
    public void A_refusal_by_a_later_bucket_takes_no_token_from_earlier_ones()
    {
        using var kit = new ThrottleTestKit();
        var config = ThrottleTestKit.Load("""
            throttle: { rate: 0.001, burst: 3 }
            routes:
              - { route: POST /tight, target: sink, throttle: { rate: 0.001, burst: 1 } }
              - { route: POST /open, target: sink }
            """);
        var tight = kit.Compile(config, 0);
        var open = kit.Compile(config, 1);
        var request = ThrottleTestKit.Request();

        tight.Allowed(request);                   // gateway 2 left, route 0
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("throttled by route POST /tight", tight.Refused(request).LogReason);
        }

        open.AllowsExactly(request, 2);           // the refused ones cost the gateway nothing
        Assert.Equal("throttled by the gateway limit", open.Refused(request).LogReason);
    }

    [Fact]
    public void Gateway_bucket_is_shared_by_all_routes_and_checked_first()
    {
        using var kit = new ThrottleTestKit();
        var config = ThrottleTestKit.Load("""
            throttle: { rate: 1, burst: 2 }
            routes:
              - { route: POST /a, target: sink, throttle: { rate: 100, burst: 100 } }
              - { route: POST /b, target: sink }
            """);
        var a = kit.Compile(config, 0);
        var b = kit.Compile(config, 1);
        var request = ThrottleTestKit.Request();

        a.Allowed(request);
        b.Allowed(request);
        var rejection = a.Refused(request);

        Assert.Equal("2", rejection.Header("X-RateLimit-Limit"));
        Assert.Equal("throttled by the gateway limit", rejection.LogReason);
    }

    [Fact]
    public void Bucket_state_survives_a_redeployment_with_the_same_names()
    {
        using var kit = new ThrottleTestKit();
        var yaml = Route("{ rate: 1, burst: 3 }");
        var first = kit.Compile(yaml);
        var request = ThrottleTestKit.Request();
        first.AllowsExactly(request, 3);

        var redeployed = kit.Compile(yaml); // a new IngestConfig object, same route key

        redeployed.Refused(request);
        kit.Advance(1);
        redeployed.AllowsExactly(request, 1);
    }

    [Fact]
    public void Without_limits_every_request_passes_synchronously()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile("routes: [{ route: POST /a, target: sink }]");

        Assert.True(policy.IsUnlimited);
        for (var i = 0; i < 1000; i++)
        {
            policy.Allowed(ThrottleTestKit.Request());
        }
    }

    [Fact]
    public async Task Concurrent_requests_never_take_more_than_the_burst()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Route("{ rate: 0.001, burst: 1000 }"));
        var passed = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            var request = ThrottleTestKit.Request();
            for (var i = 0; i < 500; i++)
            {
                if (policy.Check(request) is null)
                {
                    Interlocked.Increment(ref passed);
                }
            }
        })));

        Assert.Equal(1000, passed);
    }
}
