using System.Net;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Admin;

/// <summary>A target kind (<c>type: flaky</c>) whose every call fails as a whole until <see cref="Heal"/>.</summary>
internal sealed class FlakyTargetKind : ITargetKind, IBatchSender
{
    private volatile bool _healthy;
    private int _calls;

    public string Type => "flaky";

    public int Calls => Volatile.Read(ref _calls);

    public BatchLimits Limits => new(10, 1024 * 1024, 256 * 1024);

    public void Heal() => _healthy = true;

    public BatchLimits ServiceLimits(TargetOptions options) => Limits;

    public void Validate(string name, TargetOptions options, ICollection<string> errors)
    {
    }

    public IEnumerable<string> RequiredHeaders(TargetOptions options) => [];

    public Task<IBatchSender> CreateSenderAsync(string name, TargetOptions options, TargetContext context, CancellationToken cancellationToken) =>
        Task.FromResult<IBatchSender>(this);

    public int MeasureWireBytes(IngestEvent e) => e.Body.Length;

    public Task SendAsync(IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (!_healthy)
        {
            throw new HttpRequestException("connection refused (injected)");
        }
        Array.Fill(outcomes, EntryOutcome.Delivered);
        return Task.CompletedTask;
    }
}

/// <summary>Readiness reports config, draining and per-target reachability read from delivery outcomes.</summary>
public class ReadinessTests
{
    [Fact]
    public async Task A_target_failing_whole_calls_turns_readiness_false_until_it_delivers_again()
    {
        var backend = new FlakyTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              flaky: { type: flaky, batch: { linger: 1ms, maxInFlight: 1 }, retry: { maxAttempts: 1000, baseDelay: 5ms, maxDelay: 20ms } }
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: flaky, auth: none, public: true }
            """, new GatewayOptions { ConfigureServices = s => s.AddSingleton<ITargetKind>(backend), DrainTimeout = TimeSpan.FromSeconds(5) });
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/readyz")).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostJsonAsync("/v1/events", "{}")).StatusCode);
        await Poll.UntilAsync(() => backend.Calls >= 4, TimeSpan.FromSeconds(10));

        var notReady = await gateway.Anonymous.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        using (var body = JsonDocument.Parse(await notReady.Content.ReadAsStringAsync()))
        {
            Assert.Equal("degraded", body.RootElement.GetProperty("status").GetString());
            var checks = body.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
            Assert.False(checks["target:flaky"].GetProperty("ok").GetBoolean());
            Assert.Contains("unreachable", checks["target:flaky"].GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.True(checks["target:sink"].GetProperty("ok").GetBoolean());
            Assert.True(checks["config"].GetProperty("ok").GetBoolean());
        }
        using (var targets = JsonDocument.Parse(await gateway.Admin.GetStringAsync("/admin/targets")))
        {
            var flaky = targets.RootElement.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "flaky");
            Assert.False(flaky.GetProperty("reachable").GetBoolean());
            Assert.True(flaky.GetProperty("retried").GetInt64() >= 3);
            Assert.True(flaky.GetProperty("consecutiveFailures").GetInt64() >= 3);
        }

        backend.Heal();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        HttpStatusCode status;
        do
        {
            status = (await gateway.Anonymous.GetAsync("/readyz")).StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(20);
            }
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Readiness_turns_false_while_draining()
    {
        var backend = new RecordingTargetKind();
        backend.Close();
        var gateway = await ConsoleGateway.StartAsync("""
            targets:
              rec: { type: recording, batch: { linger: 1ms } }
            routes:
              - { route: POST /v1/events, target: rec, auth: none, public: true }
            """, new GatewayOptions { ConfigureServices = s => s.AddSingleton<ITargetKind>(backend), DrainTimeout = TimeSpan.FromSeconds(10) });
        try
        {
            await gateway.PostJsonAsync("/v1/events", "{}");
            var runtime = gateway.App.Services.GetRequiredService<GatewayRuntime>();
            runtime.BeginDrain();

            var response = await gateway.Anonymous.GetAsync("/readyz");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("draining", body.RootElement.GetProperty("status").GetString());
            Assert.Contains(body.RootElement.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == "draining" && !c.GetProperty("ok").GetBoolean());
        }
        finally
        {
            backend.Open();
            await gateway.DisposeAsync();
        }
    }
}
