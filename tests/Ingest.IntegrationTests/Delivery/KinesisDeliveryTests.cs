using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Delivery;

/// <summary>Events through a real gateway into the Kinesis stand-in (kinesalite), read back and compared.</summary>
[Trait("Category", "Standins")]
public class KinesisDeliveryTests(ITestOutputHelper output)
{
    private const string Endpoint = "http://127.0.0.1:4567";

    [Fact]
    public async Task Ten_thousand_events_from_32_connections_arrive_exactly_once_byte_identical()
    {
        var stream = $"it-{Guid.NewGuid():N}";
        await using var app = await StartGatewayAsync(stream);
        var driver = new LoadDriver();

        await driver.RunAsync(new Uri($"http://{app.Services.GetRequiredService<GatewayEndpoints>().PublicEndPoints[0]}"), "/v1/clicks", 10_000, 32);

        using var reader = new KinesaliteReader(Endpoint);
        var records = await reader.ReadAllAsync(stream, driver.Acknowledged.Count, TimeSpan.FromSeconds(120));
        var received = records.Select(r => (Id: r.GetProperty("eventId").GetGuid(), Body: BodyOf(r))).ToList();
        var duplicates = received.Count - received.Select(r => r.Id).Distinct().Count();
        output.WriteLine($"sent {driver.Sent}, 202 {driver.Acknowledged.Count}, refused {driver.Refused}, delivered {received.Select(r => r.Id).Distinct().Count()}, duplicates {duplicates}");

        Assert.Equal(10_000, driver.Sent);
        Assert.Equal(10_000, driver.Acknowledged.Count);
        Assert.Equal(0, duplicates);
        Assert.Equal(driver.Acknowledged.Keys.Order(), received.Select(r => r.Id).Order());
        foreach (var (id, body) in received)
        {
            Assert.Equal(driver.Acknowledged[id], body);
        }
        Assert.All(records, r => Assert.Equal("POST /v1/clicks", r.GetProperty("route").GetString()));
    }

    /// <summary>The envelope embeds JSON bodies as JSON and anything else as base64.</summary>
    private static byte[] BodyOf(JsonElement envelope) =>
        envelope.TryGetProperty("bodyBase64", out var base64)
            ? base64.GetBytesFromBase64()
            : Encoding.UTF8.GetBytes(envelope.GetProperty("body").GetRawText());

    private static async Task<WebApplication> StartGatewayAsync(string stream)
    {
        var config = ConfigLoader.Load($$"""
            listen: [{ address: "127.0.0.1:0", protocols: http1 }]
            admin: { listen: "127.0.0.1:0" }
            accessLog: { path: off }
            aws:
              region: us-east-1
              accessKeyId: test
              secretAccessKey: test
              endpoints: { kinesis: "{{Endpoint}}" }
              createMissing: true
            targets:
              s: { type: kinesis, stream: {{stream}}, partitionKey: "json:device", batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/clicks, target: s, auth: none, public: true, contentTypes: [application/json, application/octet-stream] }
            """);
        var app = GatewayHost.Build(config);
        await app.StartAsync();
        return app;
    }
}
