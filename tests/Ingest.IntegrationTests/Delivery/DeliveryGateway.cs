using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Delivery;

/// <summary>What the delivery tests share: a real gateway in front of an AWS stand-in, and the exactly-once comparison.</summary>
internal static class DeliveryGateway
{
    /// <summary>Starts a gateway on loopback with test credentials, <paramref name="endpoints"/> (e.g. <c>sqs: "http://..."</c>) and the given top-level targets and routes YAML.</summary>
    public static async Task<WebApplication> StartAsync(string endpoints, string targetsAndRoutesYaml)
    {
        var config = ConfigLoader.Load($$"""
            listen: [{ address: "127.0.0.1:0", protocols: http1 }]
            admin: { listen: "127.0.0.1:0" }
            accessLog: { path: off }
            aws:
              region: us-east-1
              accessKeyId: test
              secretAccessKey: test
              endpoints: { {{endpoints}} }
              createMissing: true
            {{targetsAndRoutesYaml}}
            """);
        var app = GatewayHost.Build(config);
        await app.StartAsync();
        return app;
    }

    /// <summary>Base URL of the gateway's first public listener.</summary>
    public static Uri PublicUri(WebApplication app) =>
        new($"http://{app.Services.GetRequiredService<GatewayEndpoints>().PublicEndPoints[0]}");

    /// <summary>All <paramref name="sent"/> events got a 202 and arrived exactly once, byte-identical to what was acknowledged.</summary>
    public static void AssertDeliveredExactlyOnce(ITestOutputHelper output, LoadDriver driver, int sent, IReadOnlyList<(Guid Id, byte[] Body)> received)
    {
        var duplicates = received.Count - received.Select(r => r.Id).Distinct().Count();
        output.WriteLine($"sent {driver.Sent}, 202 {driver.Acknowledged.Count}, refused {driver.Refused}, delivered {received.Select(r => r.Id).Distinct().Count()}, duplicates {duplicates}");

        Assert.Equal(sent, driver.Sent);
        Assert.Equal(sent, driver.Acknowledged.Count);
        Assert.Equal(0, duplicates);
        Assert.Equal(driver.Acknowledged.Keys.Order(), received.Select(r => r.Id).Order());
        foreach (var (id, body) in received)
        {
            Assert.Equal(driver.Acknowledged[id], body);
        }
    }
}
