using System.Net;
using Ingest.Gateway.Tests.Deployments;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.WebSockets;

/// <summary>Open connections follow deployments: each message runs on the routes deployed when it arrives.</summary>
public class WebSocketDeploymentTests
{
    private static string File(string defaultRoute) => $$"""
        apiKeys: [{ id: fleet-a, sha256: {{WebSocketApiTests.SecretHash}} }]
        targets:
          rec: { type: recording, batch: { linger: 1ms } }
        routes:
          - { route: "WEBSOCKET $connect", target: rec, auth: [apiKey] }
          - {{defaultRoute}}
        """;

    [Fact]
    public async Task A_deployment_applies_to_connections_already_open()
    {
        await using var gateway = await DeploymentGateway.StartAsync(File("{ route: \"WEBSOCKET $default\", target: rec }"));
        await using var client = await WebSocketClient.ConnectAsync(gateway.Client.BaseAddress!);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("ack", (await client.SendAndReceiveAsync("{}")).GetProperty("type").GetString());
        }

        var deployed = await gateway.DeployAsync(File("{ route: \"WEBSOCKET $default\", target: rec, validate: json, throttle: { rate: 0.001, burst: 1 } }"));
        Assert.Equal(HttpStatusCode.Created, deployed.StatusCode);
        await Poll.UntilAsync(() => gateway.Runtime.Current.Config.Routes[1].Throttle is not null, TimeSpan.FromSeconds(10));

        // Throttle before payload checks, as for HTTP: the invalid message spends the one token.
        var invalid = await client.SendAndReceiveAsync("not json");
        var second = await client.SendAndReceiveAsync("{}");

        Assert.Equal(400, invalid.GetProperty("status").GetInt32());
        Assert.Equal(429, second.GetProperty("status").GetInt32());
    }
}
