using Ingest.Core.Configuration;
using Ingest.TestSupport.Http;
using Ingest.Targets.Http;
using Ingest.Targets.Http.Destinations;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Targets.Tests.Http;

/// <summary>Active health checks on a fake clock against real backends (each test &lt; 5 s).</summary>
public class HealthProberTests
{
    [Fact]
    public async Task A_destination_failing_its_probe_is_unhealthy_until_a_probe_succeeds_again()
    {
        var healthy = true;
        await using var backend = await HttpBackend.StartAsync(context =>
        {
            context.Response.StatusCode = healthy ? 200 : 503;
            return Task.CompletedTask;
        });
        var time = new FakeTimeProvider();
        var set = new DestinationSet([UrlTemplate.TryParse(backend.Url + "/api", out _)!], "roundRobin", time);
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        var options = new HealthCheckOptions { Path = "/ready", Interval = TimeSpan.FromSeconds(5), Timeout = TimeSpan.FromSeconds(1) };
        await using var prober = new HealthProber("api", set, invoker, options, time, NullLogger.Instance);
        var destination = set.All[0];

        // The first round runs at once.
        await Poll.UntilAsync(() => !backend.Requests.IsEmpty);
        Assert.Equal("/ready", backend.Requests.First().Target);
        Assert.True(destination.IsHealthy(time.GetTimestamp()));

        healthy = false;
        await Poll.AdvanceUntilAsync(time, options.Interval, () => !destination.IsHealthy(time.GetTimestamp()));
        Assert.All(backend.Requests, r => Assert.Equal("/ready", r.Target));

        healthy = true;
        await Poll.AdvanceUntilAsync(time, options.Interval, () => destination.IsHealthy(time.GetTimestamp()));
    }

    [Fact]
    public async Task A_stopped_destination_is_unhealthy_after_the_next_probe()
    {
        var backend = await HttpBackend.StartAsync(context => Task.CompletedTask);
        var time = new FakeTimeProvider();
        var set = new DestinationSet([UrlTemplate.TryParse(backend.Url, out _)!], null, time);
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        await using var prober = new HealthProber("api", set, invoker, new HealthCheckOptions(), time, NullLogger.Instance);
        await Poll.UntilAsync(() => backend.Requests.Count == 1);

        await backend.DisposeAsync();
        Assert.True(set.All[0].IsHealthy(time.GetTimestamp()));

        await Poll.AdvanceUntilAsync(time, new HealthCheckOptions().Interval, () => !set.All[0].IsHealthy(time.GetTimestamp()));
    }
}

internal static class Poll
{
    public static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 15 s");
            await Task.Delay(10);
        }
    }

    /// <summary>Moves the fake clock one probe interval at a time until <paramref name="condition"/> holds (a probe still running skips a tick).</summary>
    public static async Task AdvanceUntilAsync(FakeTimeProvider time, TimeSpan interval, Func<bool> condition)
    {
        for (var i = 0; i < 50 && !condition(); i++)
        {
            time.Advance(interval);
            var wait = DateTime.UtcNow + TimeSpan.FromMilliseconds(200);
            while (!condition() && DateTime.UtcNow < wait)
            {
                await Task.Delay(10);
            }
        }
        Assert.True(condition(), "condition not met within 50 probe intervals");
    }
}
