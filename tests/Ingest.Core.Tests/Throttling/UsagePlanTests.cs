using Ingest.Core.Throttling;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Core.Tests.Throttling;

/// <summary>Usage plans: per-key throttle and calendar quotas (UTC), on a fake clock.</summary>
public class UsagePlanTests
{
    private static string Plans(string plan) => $$"""
        apiKeys:
          - { id: fleet-a, sha256: aa }
          - { id: fleet-b, sha256: bb }
        usagePlans:
          - { name: standard, keys: [fleet-a, fleet-b], {{plan}} }
        routes:
          - { route: POST /a, target: sink, auth: [apiKey] }
        """;

    [Fact]
    public void Plan_throttle_is_per_key_and_ignores_requests_without_a_key()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Plans("throttle: { rate: 1, burst: 2 }"));

        policy.AllowsExactly(ThrottleTestKit.Request("fleet-a"), 2);
        policy.AllowsExactly(ThrottleTestKit.Request("fleet-b"), 2);
        var rejection = policy.Refused(ThrottleTestKit.Request("fleet-a"));
        Assert.Equal("throttled by usage plan standard", rejection.LogReason);
        Assert.Equal("2", rejection.Header("X-RateLimit-Limit"));

        for (var i = 0; i < 10; i++)
        {
            policy.Allowed(ThrottleTestKit.Request(null));
            policy.Allowed(ThrottleTestKit.Request("not-in-a-plan"));
        }
    }

    [Fact]
    public void Used_up_daily_quota_answers_limit_exceeded_until_midnight_utc()
    {
        using var kit = new ThrottleTestKit(new DateTimeOffset(2026, 3, 10, 23, 59, 0, TimeSpan.Zero));
        var policy = kit.Compile(Plans("quota: { limit: 3, period: day }"));
        var request = ThrottleTestKit.Request("fleet-a");

        policy.AllowsExactly(request, 3);
        var rejection = policy.Refused(request, ThrottleRejections.LimitExceeded);

        Assert.Equal("60", rejection.Header("Retry-After"));
        Assert.Equal("0", rejection.Header("X-Quota-Remaining"));
        Assert.Equal("3", rejection.Header("X-Quota-Limit"));
        Assert.Equal("quota of usage plan standard used up", rejection.LogReason);
        policy.AllowsExactly(ThrottleTestKit.Request("fleet-b"), 3); // per key

        kit.Advance(59.5);
        Assert.Equal("1", policy.Refused(request, ThrottleRejections.LimitExceeded).Header("Retry-After"));
        kit.Advance(0.5); // 00:00 UTC
        policy.AllowsExactly(request, 3);
    }

    [Fact]
    public async Task Quota_usage_reports_used_and_remaining_without_counting()
    {
        using var kit = new ThrottleTestKit(new DateTimeOffset(2026, 3, 10, 23, 0, 0, TimeSpan.Zero));
        var config = ThrottleTestKit.Load(Plans("quota: { limit: 5, period: day }"));
        var policy = kit.Compile(config);
        var usage = kit.Services.GetRequiredService<QuotaUsage>();
        policy.Allowed(ThrottleTestKit.Request("fleet-a"));
        policy.Allowed(ThrottleTestKit.Request("fleet-a"));

        var status = await usage.GetAsync(config, "fleet-a");
        var again = await usage.GetAsync(config, "fleet-a");

        Assert.Equal(new QuotaStatus("standard", 5, 2, "day", new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero), Shared: false), status);
        Assert.Equal(3, again!.Remaining);
        Assert.Equal(0, (await usage.GetAsync(config, "fleet-b"))!.Used);
        Assert.Null(await usage.GetAsync(config, "nobody"));
        kit.Advance(3600);
        Assert.Equal(0, (await usage.GetAsync(config, "fleet-a"))!.Used);
    }

    [Fact]
    public void Weekly_quota_rolls_over_on_monday_utc()
    {
        // Sunday 15 March 2026, 22:00 UTC.
        using var kit = new ThrottleTestKit(new DateTimeOffset(2026, 3, 15, 22, 0, 0, TimeSpan.Zero));
        var policy = kit.Compile(Plans("quota: { limit: 1, period: week }"));
        var request = ThrottleTestKit.Request("fleet-a");

        policy.AllowsExactly(request, 1);
        Assert.Equal("7200", policy.Refused(request, ThrottleRejections.LimitExceeded).Header("Retry-After"));

        kit.Advance(2 * 3600);
        policy.AllowsExactly(request, 1);
        kit.Advance(6 * 86400); // Sunday again: same week
        policy.Refused(request, ThrottleRejections.LimitExceeded);
    }

    [Fact]
    public void Monthly_quota_rolls_over_on_the_first_utc()
    {
        using var kit = new ThrottleTestKit(new DateTimeOffset(2026, 2, 28, 23, 0, 0, TimeSpan.Zero));
        var policy = kit.Compile(Plans("quota: { limit: 2, period: month }"));
        var request = ThrottleTestKit.Request("fleet-a");

        policy.AllowsExactly(request, 2);
        Assert.Equal("3600", policy.Refused(request, ThrottleRejections.LimitExceeded).Header("Retry-After"));

        kit.Advance(3600); // 1 March
        policy.AllowsExactly(request, 2);
    }

    [Fact]
    public void Quota_refusal_gives_back_the_tokens_of_every_bucket()
    {
        using var kit = new ThrottleTestKit();
        var config = ThrottleTestKit.Load(Plans("throttle: { rate: 0.001, burst: 5 }, quota: { limit: 1, period: day }")
            .Replace("routes:", "throttle: { rate: 0.001, burst: 5 }\nroutes:", StringComparison.Ordinal));
        var policy = kit.Compile(config);
        var a = ThrottleTestKit.Request("fleet-a");

        policy.Allowed(a);
        for (var i = 0; i < 10; i++)
        {
            policy.Refused(a, ThrottleRejections.LimitExceeded);
        }

        // Gateway bucket: 4 left (only the one passed request took a token).
        policy.AllowsExactly(ThrottleTestKit.Request(null), 4);
    }

    [Fact]
    public void Plan_throttle_refusal_does_not_count_against_the_quota()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile(Plans("throttle: { rate: 1, burst: 1 }, quota: { limit: 2, period: day }"));
        var request = ThrottleTestKit.Request("fleet-a");

        policy.Allowed(request);
        for (var i = 0; i < 5; i++)
        {
            policy.Refused(request);
        }
        kit.Advance(1);
        policy.Allowed(request);
        kit.Advance(1);
        policy.Refused(request, ThrottleRejections.LimitExceeded);
    }

    [Theory]
    [InlineData("2026-03-10T12:00:00Z", "day", "2026-03-11T00:00:00Z")]
    [InlineData("2026-03-10T12:00:00Z", "week", "2026-03-16T00:00:00Z")] // Tuesday -> Monday
    [InlineData("2026-03-16T00:00:00Z", "week", "2026-03-23T00:00:00Z")] // Monday 00:00 starts a week
    [InlineData("2026-12-31T23:59:59Z", "month", "2027-01-01T00:00:00Z")]
    [InlineData("2028-02-29T10:00:00Z", "month", "2028-03-01T00:00:00Z")]
    public void Quota_periods_are_calendar_periods_in_utc(string now, string name, string end)
    {
        Assert.True(QuotaPeriods.TryParse(name, out var period));
        var at = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        var (id, periodEnd) = QuotaPeriods.Current(period, at);

        Assert.Equal(DateTimeOffset.Parse(end, System.Globalization.CultureInfo.InvariantCulture), periodEnd);
        Assert.Equal(id + 1, QuotaPeriods.Current(period, periodEnd).Id);
        Assert.Equal(id, QuotaPeriods.Current(period, periodEnd.AddTicks(-1)).Id);
    }
}
