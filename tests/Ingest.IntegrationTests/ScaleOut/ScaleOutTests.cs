using System.Diagnostics;
using Ingest.IntegrationTests.Delivery;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.ScaleOut;

/// <summary>
/// Two gateway processes behind nginx (the shipped deploy/nginx/ingest.conf) sharing Redis and
/// SQS: limits shared, and events from both instances delivered. One cluster for both tests
/// (started once, about 4 s on an idle 2-core machine); limits: 10 s of load, delivery: 3000 events.
/// The ScaleOut collection (this class and <see cref="DrainUnderLoadTests"/>) takes about 45 s.
/// </summary>
[Trait("Category", "Standins")]
[Collection(ScaleOutCollection.Name)]
public class ScaleOutTests(SharedClusterFixture fixture, ITestOutputHelper output) : IClassFixture<SharedClusterFixture>
{
    [Fact]
    public async Task Throttle_is_shared_through_redis_accepted_within_5_percent_of_rate_times_duration()
    {
        const double rate = SharedClusterFixture.Rate;
        var clock = Stopwatch.StartNew();
        var cluster = fixture.Cluster;
        var warmup = new ClusterLoad();
        await warmup.RunAsync(cluster.Nginx.BaseAddress, "/warmup", 200, TimeSpan.FromSeconds(0.5));
        Assert.Equal(warmup.Answered, warmup.Count(202));
        var before = new[] { await cluster.CounterAsync(0, "ingest_events_accepted_total"), await cluster.CounterAsync(1, "ingest_events_accepted_total") };

        // Offered: twice the limit for 10 s, all through nginx; enough workers that slow answers on
        // a busy machine do not hold the offered rate back.
        var load = new ClusterLoad();
        await load.RunAsync(cluster.Nginx.BaseAddress, "/v1/limited", 2 * rate, TimeSpan.FromSeconds(10), workers: 64);

        var accepted = load.Count(202);
        var expected = (rate * load.Elapsed.TotalSeconds) + SharedClusterFixture.Burst;
        var perInstance = new[]
        {
            await cluster.CounterAsync(0, "ingest_events_accepted_total") - before[0],
            await cluster.CounterAsync(1, "ingest_events_accepted_total") - before[1],
        };
        output.WriteLine($"{load.Elapsed.TotalSeconds:0.00} s at {2 * rate}/s: {load.Summary}; accepted {accepted}, expected {expected:0} ({(accepted - expected) / expected:+0.0%;-0.0%}); instance a {perInstance[0]}, b {perInstance[1]}; nginx retries {cluster.Nginx.RetriedRequests()}; cluster started in {fixture.StartTime.TotalSeconds:0.0} s, this test {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(load.Answered, accepted + load.Count(429));
        // The count means something only while the offered rate stayed above the limit.
        Assert.True(load.Elapsed < TimeSpan.FromSeconds(11), $"the load generator fell behind: 10 s of load took {load.Elapsed.TotalSeconds:0.0} s");
        Assert.InRange(accepted, expected * 0.95, expected * 1.05);
        // Both instances took a share of the accepted requests: the limit is shared, not per instance.
        Assert.Equal(accepted, perInstance.Sum());
        Assert.All(perInstance, n => Assert.InRange(n, accepted / 4.0, accepted * 3 / 4.0));
    }

    [Fact]
    public async Task Events_accepted_by_both_instances_are_all_delivered_exactly_once()
    {
        const int eventCount = 3000;
        var clock = Stopwatch.StartNew();
        var cluster = fixture.Cluster;
        var before = new[] { await cluster.CounterAsync(0, "ingest_events_accepted_total"), await cluster.CounterAsync(1, "ingest_events_accepted_total") };
        var driver = new LoadDriver();

        await driver.RunAsync(cluster.Nginx.BaseAddress, "/v1/events", eventCount, 16);
        var sent = clock.Elapsed;
        var received = await SqsDeliveryTests.ReceiveAllAsync(fixture.Queue, driver.Acknowledged.Count, TimeSpan.FromSeconds(60));

        var perInstance = new[]
        {
            await cluster.CounterAsync(0, "ingest_events_accepted_total") - before[0],
            await cluster.CounterAsync(1, "ingest_events_accepted_total") - before[1],
        };
        output.WriteLine($"instance a accepted {perInstance[0]}, b {perInstance[1]}; nginx retries {cluster.Nginx.RetriedRequests()}; sent by {sent.TotalSeconds:0.0} s, this test {clock.Elapsed.TotalSeconds:0.0} s");
        DeliveryGateway.AssertDeliveredExactlyOnce(output, driver, eventCount, received);
        Assert.Equal(eventCount, perInstance.Sum());
        Assert.All(perInstance, n => Assert.InRange(n, eventCount / 4.0, eventCount * 3 / 4.0));
    }
}
