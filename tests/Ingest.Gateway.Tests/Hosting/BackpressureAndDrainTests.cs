using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Ingest.Core.Pipeline;

namespace Ingest.Gateway.Tests.Hosting;

public class BackpressureAndDrainTests
{
    private static GatewayOptions With(RecordingTargetKind kind) => new()
    {
        ConfigureServices = services => services.AddSingleton<ITargetKind>(kind),
        DrainTimeout = TimeSpan.FromSeconds(20),
    };

    [Fact]
    public async Task Full_buffer_answers_503_with_retry_after_and_loses_nothing_it_accepted()
    {
        var backend = new RecordingTargetKind();
        backend.Close();
        await using var gateway = await TestGateway.StartAsync("""
            memory: { bufferBytes: 20000 }
            targets:
              rec: { type: recording, batch: { linger: 1ms } }
            routes:
              - { route: POST /v1/events, target: rec, auth: none, public: true }
            """, With(backend));

        var accepted = new List<string>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 200 && refused is null; i++)
        {
            var response = await gateway.Client.PostAsync("/v1/events", new StringContent($"{{\"n\":{i},\"pad\":\"{new string('x', 500)}\"}}", Encoding.UTF8, "application/json"));
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add(response.Headers.GetValues("x-request-id").Single());
            }
            else
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        Assert.NotEmpty(accepted);
        await Requests.StatusCodeTests.AssertError(refused, 503, "Service Unavailable");
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());

        backend.Open();
        await Poll.UntilAsync(() => backend.Delivered.Count == accepted.Count, TimeSpan.FromSeconds(10));
        Assert.Equal(accepted.Order(), backend.Delivered.Keys.Select(k => k.ToString()).Order());

        // Room again once delivered.
        var after = await gateway.Client.PostAsync("/v1/events", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
    }

    [Fact]
    public async Task Stop_flushes_everything_queued_before_exit_and_readiness_turns_false()
    {
        var backend = new RecordingTargetKind();
        backend.Close();
        var gateway = await TestGateway.StartAsync("""
            targets:
              rec: { type: recording, batch: { linger: 500ms, maxInFlight: 1 } }
            routes:
              - { route: POST /v1/events, target: rec, auth: none, public: true }
            """, With(backend));
        Assert.Equal(HttpStatusCode.OK, (await gateway.Admin.GetAsync("/readyz")).StatusCode);

        var ids = new List<Guid>();
        for (var i = 0; i < 300; i++)
        {
            var response = await gateway.Client.PostAsync("/v1/events", new StringContent($"{{\"n\":{i}}}", Encoding.UTF8, "application/json"));
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            ids.Add(body.RootElement.GetProperty("requestId").GetGuid());
        }
        Assert.Empty(backend.Delivered);

        var stopping = gateway.App.StopAsync();
        var runtime = gateway.App.Services.GetRequiredService<GatewayRuntime>();
        await Poll.UntilAsync(() => runtime.Draining, TimeSpan.FromSeconds(5));
        backend.Open();
        await stopping;

        Assert.Equal(ids.Order(), backend.Delivered.Keys.Order());
        await gateway.DisposeAsync();
    }
}
