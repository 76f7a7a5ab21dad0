using Ingest.Targets.Http;
using Ingest.Targets.Http.Destinations;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Targets.Tests.Http;

public class DestinationSetTests
{
    private static DestinationSet Set(string policy, FakeTimeProvider time, int count = 3) =>
        new([.. Enumerable.Range(0, count).Select(i => UrlTemplate.TryParse($"http://d{i}", out _)!)], policy, time);

    [Fact]
    public void Round_robin_takes_turns_and_skips_a_destination_marked_down_until_it_is_reactivated()
    {
        var time = new FakeTimeProvider();
        var set = Set("roundRobin", time);

        Assert.Equal(["http://d0", "http://d1", "http://d2", "http://d0"], Enumerable.Range(0, 4).Select(_ => set.Pick()!.Url.Origin));

        set.All[1].MarkDown(time.GetTimestamp() + time.TimestampFrequency * 10);
        Assert.DoesNotContain("http://d1", Enumerable.Range(0, 30).Select(_ => set.Pick()!.Url.Origin));

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Contains("http://d1", Enumerable.Range(0, 30).Select(_ => set.Pick()!.Url.Origin));
    }

    [Theory]
    [InlineData("powerOfTwoChoices")]
    [InlineData("leastRequests")]
    [InlineData("random")]
    [InlineData("roundRobin")]
    public void Every_policy_avoids_an_unhealthy_destination_and_falls_back_when_none_is_healthy(string policy)
    {
        var time = new FakeTimeProvider();
        var set = Set(policy, time);
        set.All[0].Probed(healthy: false);
        set.All[2].Probed(healthy: false);

        Assert.All(Enumerable.Range(0, 50), _ => Assert.Same(set.All[1], set.Pick()));

        set.All[1].Probed(healthy: false);
        Assert.NotNull(set.Pick());
        Assert.NotSame(set.All[1], set.Pick(exclude: set.All[1]));
    }

    [Fact]
    public void Least_requests_prefers_the_idle_destination()
    {
        var time = new FakeTimeProvider();
        var set = Set("leastRequests", time, count: 2);
        set.All[0].Enter();
        set.All[0].Enter();

        Assert.Same(set.All[1], set.Pick());
        set.All[1].Enter();
        set.All[1].Enter();
        set.All[1].Enter();
        Assert.Same(set.All[0], set.Pick());
    }

    [Fact]
    public void A_healthy_probe_ends_a_passive_mark()
    {
        var time = new FakeTimeProvider();
        var set = Set("roundRobin", time, count: 2);
        set.All[0].MarkDown(long.MaxValue);
        Assert.False(set.All[0].IsHealthy(time.GetTimestamp()));

        Assert.True(set.All[0].Probed(healthy: true));
        Assert.True(set.All[0].IsHealthy(time.GetTimestamp()));
        Assert.False(set.All[0].Probed(healthy: true));
    }

    [Fact]
    public void A_single_destination_has_no_other_to_retry_on()
    {
        var set = Set("roundRobin", new FakeTimeProvider(), count: 1);

        Assert.Same(set.All[0], set.Pick());
        Assert.Null(set.Pick(exclude: set.All[0]));
    }
}
