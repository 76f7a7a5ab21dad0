using System.Diagnostics;
using Ingest.Core.Pipeline;
using Ingest.IntegrationTests.Outage;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Drain;

/// <summary>
/// SIGTERM under load (gateway child process, drainTimeout 10 s, 16 clients): readiness fails at
/// once, the process exits 0 within drainTimeout, and every acknowledged event is delivered or in
/// the spill file; spilled events reach the queue with <c>ingest replay</c>. About 20 s and 35 s.
/// </summary>
[Collection(OutageCollection.Name)]
[Trait("Category", "Standins")]
public sealed class GracefulDrainTests(ITestOutputHelper output)
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Sigterm_under_load_fails_readiness_at_once_delivers_every_acknowledged_event_and_exits_0_in_time()
    {
        await using var sqs = await PrivateStandin.StartSqsAsync();
        await using var scenario = new OutageScenario(output);
        var queue = $"drain-{Guid.NewGuid():N}";
        await scenario.StartGatewayAsync($"sqs: \"{sqs.Endpoint}\"", $"{{ type: sqs, queue: {queue}, batch: {{ linger: 5ms }} }}");
        await using var load = new ContinuousLoad(scenario.PublicUri, "/v1/events", OutageScenario.Clients, 512);
        await OutageScenario.UntilAsync(() => Task.FromResult(load.Acknowledged.Count >= 3000), TimeSpan.FromSeconds(30), "3000 events acknowledged");

        var exited = await TerminateAsync(scenario);
        await load.StopAsync();

        var spilled = ReadSpill(scenario.Gateway.Directory);
        var received = await SqsQueueReader.ReadAsync(sqs.Endpoint, queue, [.. load.Acknowledged.Keys.Where(id => !spilled.Contains(id))], TimeSpan.FromSeconds(60));
        Report(load, received, spilled, exited);
        AssertEveryAcknowledgedEventKept(load, received, spilled);
        Assert.Equal(0, load.OtherStatus);
    }

    [Fact]
    public async Task Sigterm_with_the_backend_down_spills_what_it_cannot_deliver_and_replay_delivers_it_later()
    {
        await using var sqs = await PrivateStandin.StartSqsAsync();
        await using var scenario = new OutageScenario(output);
        var queue = $"drain-down-{Guid.NewGuid():N}";
        await scenario.StartGatewayAsync($"sqs: \"{sqs.Endpoint}\"", $"{{ type: sqs, queue: {queue}, timeout: 2s, batch: {{ linger: 5ms }}, circuitBreaker: {{ breakDuration: 2s }} }}");
        await using var load = new ContinuousLoad(scenario.PublicUri, "/v1/events", OutageScenario.Clients, 512);
        await OutageScenario.UntilAsync(() => Task.FromResult(load.Acknowledged.Count >= 1000), TimeSpan.FromSeconds(30), "1000 events acknowledged");
        await sqs.StopAsync();
        var before = load.Acknowledged.Count;
        await OutageScenario.UntilAsync(() => Task.FromResult(load.Acknowledged.Count >= before + 2000), TimeSpan.FromSeconds(30), "2000 more events queued while the backend is down");

        var exited = await TerminateAsync(scenario);
        await load.StopAsync();
        await sqs.StartAsync();

        var spilled = ReadSpill(scenario.Gateway.Directory);
        Assert.True(spilled.Count >= 1000, $"only {spilled.Count} events spilled");
        var received = await SqsQueueReader.ReadAsync(sqs.Endpoint, queue, [.. load.Acknowledged.Keys.Where(id => !spilled.Contains(id))], TimeSpan.FromSeconds(60));
        Report(load, received, spilled, exited);
        AssertEveryAcknowledgedEventKept(load, received, spilled);

        // The spill file goes back with `ingest replay`, as an operator would send it.
        var replayExit = await RunReplayAsync(scenario.Gateway, Directory.GetFiles(Path.Combine(scenario.Gateway.Directory, "data", "spill"), "t-*.ndjson"));
        Assert.Equal(0, replayExit);
        var replayed = await SqsQueueReader.ReadAsync(sqs.Endpoint, queue, [.. spilled], TimeSpan.FromSeconds(60));
        var all = received.Concat(replayed).Select(r => r.Id).ToHashSet();
        Assert.All(load.Acknowledged.Keys, id => Assert.Contains(id, all));
        output.WriteLine($"replayed {replayed.Count} spilled events; all {load.Acknowledged.Count} acknowledged events are now in the queue");
    }

    /// <summary>SIGTERM; asserts readiness fails at once and the process exits 0 within drainTimeout (+1 s for process exit); returns the time taken.</summary>
    private async Task<TimeSpan> TerminateAsync(OutageScenario scenario)
    {
        var clock = Stopwatch.StartNew();
        scenario.Gateway.Terminate();
        await OutageScenario.UntilAsync(async () => !await ReadyAsync(scenario.Admin), TimeSpan.FromSeconds(1), "/readyz fails right after SIGTERM");
        output.WriteLine($"readiness failed {clock.Elapsed.TotalMilliseconds:0} ms after SIGTERM");
        Assert.True(await scenario.Gateway.WaitForExitAsync(DrainTimeout + TimeSpan.FromSeconds(5)), "still running 5 s after drainTimeout");
        var took = clock.Elapsed;
        Assert.Equal(0, scenario.Gateway.ExitCode);
        Assert.True(took < DrainTimeout + TimeSpan.FromSeconds(1), $"exited {took.TotalSeconds:0.0} s after SIGTERM; drainTimeout is {DrainTimeout.TotalSeconds} s");
        return took;
    }

    private static async Task<bool> ReadyAsync(HttpClient admin)
    {
        try
        {
            using var response = await admin.GetAsync("/readyz");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static HashSet<Guid> ReadSpill(string gatewayDirectory)
    {
        var directory = Path.Combine(gatewayDirectory, "data", "spill");
        return Directory.Exists(directory)
            ? Directory.GetFiles(directory, "*.ndjson").SelectMany(SpillFile.Read).Select(l => l.Event!.Id).ToHashSet()
            : [];
    }

    private void Report(ContinuousLoad load, List<(Guid Id, byte[] Body)> received, HashSet<Guid> spilled, TimeSpan exited)
    {
        var ids = received.Select(r => r.Id).ToHashSet();
        output.WriteLine($"sent {load.Sent}, acknowledged {load.Acknowledged.Count}, 503 {load.Unavailable}, refused {load.Errors}, " +
            $"delivered {ids.Count}, duplicates {received.Count - ids.Count}, spilled {spilled.Count}, exited after {exited.TotalSeconds:0.0} s");
    }

    private static void AssertEveryAcknowledgedEventKept(ContinuousLoad load, List<(Guid Id, byte[] Body)> received, HashSet<Guid> spilled)
    {
        var delivered = received.Select(r => r.Id).ToHashSet();
        var lost = load.Acknowledged.Keys.Where(id => !delivered.Contains(id) && !spilled.Contains(id)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged events neither delivered nor spilled, e.g. {lost.FirstOrDefault()}");
        foreach (var (id, body) in received)
        {
            Assert.Equal(load.Acknowledged[id], body);
        }
    }

    private async Task<int> RunReplayAsync(Ingest.TestSupport.Processes.GatewayProcess gateway, string[] files)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = gateway.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "ingest.dll"), "replay", "--config", gateway.ConfigPath, "--target", "t", "--timeout", "60s" }.Concat(files))
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        output.WriteLine($"ingest replay exited {process.ExitCode}: {await stdout}{(await stderr).Split('\n').LastOrDefault(l => l.Length > 0)}");
        return process.ExitCode;
    }
}
