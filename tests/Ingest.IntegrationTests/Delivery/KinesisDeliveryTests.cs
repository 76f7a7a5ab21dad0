using System.Text;
using System.Text.Json;
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
        await using var app = await DeliveryGateway.StartAsync($"kinesis: \"{Endpoint}\"", $$"""
            targets:
              s: { type: kinesis, stream: {{stream}}, partitionKey: "json:device", batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/clicks, target: s, auth: none, public: true, contentTypes: [application/json, application/octet-stream] }
            """);
        var driver = new LoadDriver();

        await driver.RunAsync(DeliveryGateway.PublicUri(app), "/v1/clicks", 10_000, 32);

        using var reader = new KinesaliteReader(Endpoint);
        var records = await reader.ReadAllAsync(stream, driver.Acknowledged.Count, TimeSpan.FromSeconds(120));
        var received = records.Select(r => (Id: r.GetProperty("eventId").GetGuid(), Body: BodyOf(r))).ToList();
        DeliveryGateway.AssertDeliveredExactlyOnce(output, driver, 10_000, received);
        Assert.All(records, r => Assert.Equal("POST /v1/clicks", r.GetProperty("route").GetString()));
    }

    /// <summary>The envelope embeds JSON bodies as JSON and anything else as base64.</summary>
    private static byte[] BodyOf(JsonElement envelope) =>
        envelope.TryGetProperty("bodyBase64", out var base64)
            ? base64.GetBytesFromBase64()
            : Encoding.UTF8.GetBytes(envelope.GetProperty("body").GetRawText());
}
