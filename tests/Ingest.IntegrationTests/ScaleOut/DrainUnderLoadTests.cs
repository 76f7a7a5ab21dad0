using System.Diagnostics;
using Ingest.IntegrationTests.Delivery;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.ScaleOut;

/// <summary>
/// One of two gateways behind nginx stopped with SIGTERM under load while the other takes the
/// traffic (own cluster: it stops an instance). About 25 s on an idle 2-core machine: cluster
/// start, 8 s of load at 300 requests/s, queue read.
/// </summary>
[Trait("Category", "Standins")]
[Collection(ScaleOutCollection.Name)]
public class DrainUnderLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task One_instance_drained_under_load_clients_see_only_2xx_and_every_accepted_event_is_delivered()
    {
        var clock = Stopwatch.StartNew();
        var queue = $"scaleout-{Guid.NewGuid():N}";
        await using var cluster = await ScaleOutCluster.StartAsync($$"""
            targets:
              q: { type: sqs, queue: {{queue}}, batch: { linger: 20ms } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true }
            """);
        var started = clock.Elapsed;
        var draining = cluster.Gateways[0];
        var load = new ClusterLoad();
        const double rate = 300;
        const int seconds = 8;
        var loadTime = Stopwatch.StartNew();
        var running = load.RunAsync(cluster.Nginx.BaseAddress, "/v1/events", rate, TimeSpan.FromSeconds(seconds));

        // SIGTERM once about 2.5 s of the load have been answered.
        while (load.Answered < rate * 2.5 && !running.IsCompleted)
        {
            await Task.Delay(20);
        }
        var terminatedAt = loadTime.Elapsed;
        draining.Terminate();
        var exited = draining.WaitForExitAsync(TimeSpan.FromSeconds(40));
        var exitedWithinLoad = await Task.WhenAny(exited, running) == exited && await exited;
        var exitedAt = loadTime.Elapsed;
        await running;
        var stoppedCleanly = await exited;

        var loaded = clock.Elapsed;
        var acknowledged = load.Acknowledged.ToHashSet();
        var received = await SqsDeliveryTests.ReceiveAllAsync(queue, acknowledged.Count, TimeSpan.FromSeconds(60));
        var delivered = received.Select(r => r.Id).ToHashSet();
        var missing = acknowledged.Count(id => !delivered.Contains(id));
        var unacknowledged = delivered.Count(id => !acknowledged.Contains(id));
        output.WriteLine($"SIGTERM at {terminatedAt.TotalSeconds:0.0} s, instance exited {(exitedWithinLoad ? $"at {exitedAt.TotalSeconds:0.0} s" : "after the load")} with {(stoppedCleanly ? draining.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "no exit")}; load {load.Elapsed.TotalSeconds:0.0} s: {load.Summary}; nginx retries {cluster.Nginx.RetriedRequests()}; delivered {delivered.Count} of {acknowledged.Count} acknowledged, missing {missing}, duplicates {received.Count - delivered.Count}, delivered without a 202 {unacknowledged}; started in {started.TotalSeconds:0.0} s, load done by {loaded.TotalSeconds:0.0} s, {clock.Elapsed.TotalSeconds:0.0} s in all");

        Assert.True(stoppedCleanly, $"the drained instance did not exit within 40 s of SIGTERM:\n{draining.RecentOutput}");
        Assert.Equal(0, draining.ExitCode);
        // It exited while the load still ran, so the other instance took the rest of the traffic.
        Assert.True(exitedWithinLoad, "the drained instance was still running when the load ended");
        Assert.True(load.Statuses.Keys.All(status => status is >= 200 and < 300 or 429), $"clients saw failures: {load.Summary}\n{cluster.Nginx.RecentErrors()}");
        Assert.Equal((int)Math.Ceiling(rate * seconds), load.Answered);
        Assert.Equal(0, missing);
        Assert.Equal(0, received.Count - delivered.Count);
        Assert.Equal(0, unacknowledged);
    }
}
