using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Ingest.Gateway.Tests.WebSockets.WebSocketApiTests;

namespace Ingest.Gateway.Tests.WebSockets;

/// <summary>Per-message throttling, message size, idle and lifetime limits, the connection cap and drain.</summary>
public class WebSocketLimitsTests
{
    private static string BlackholeConfig(string webSocket = "{}", string defaultRoute = "{ route: \"WEBSOCKET $default\", target: sink }") => $$"""
        apiKeys: [{ id: fleet-a, sha256: {{SecretHash}} }]
        webSocket: {{webSocket}}
        targets:
          sink: { type: blackhole }
        routes:
          - { route: "WEBSOCKET $connect", target: sink, auth: [apiKey] }
          - {{defaultRoute}}
        """;

    [Fact]
    public async Task A_chatty_client_gets_429_error_frames_per_message_and_its_connection_stays_usable()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        await using var gateway = await ConsoleGateway.StartAsync(
            BlackholeConfig(defaultRoute: "{ route: \"WEBSOCKET $default\", target: sink, throttle: { rate: 1, burst: 2 } }"),
            new GatewayOptions { TimeProvider = time });
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        var frames = new List<JsonElement>();
        for (var i = 0; i < 4; i++)
        {
            frames.Add(await client.SendAndReceiveAsync("{}"));
        }
        time.Advance(TimeSpan.FromSeconds(1));
        var afterRefill = await client.SendAndReceiveAsync("{}");

        Assert.Equal(["ack", "ack", "error", "error"], frames.Select(f => f.GetProperty("type").GetString()));
        Assert.All(frames.Skip(2), f =>
        {
            Assert.Equal(429, f.GetProperty("status").GetInt32());
            Assert.Equal("Too Many Requests", f.GetProperty("message").GetString());
            Assert.Equal(1, f.GetProperty("retryAfter").GetInt32());
        });
        Assert.Equal("ack", afterRefill.GetProperty("type").GetString());
        Assert.Equal(WebSocketState.Open, client.Socket.State);
        var statuses = (await gateway.AccessLogLinesAsync(6)).Skip(1).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetInt32());
        Assert.Equal([202, 202, 429, 429, 202], statuses);
        var route = ("route", "WEBSOCKET $default");
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_requests_total", route, ("status_class", "4xx")) == 2);
        Assert.Equal(2, scrape.Sum("ingest_requests_total", route, ("status_class", "4xx")));
        Assert.Equal(3, scrape.Sum("ingest_requests_total", route, ("status_class", "2xx")));
    }

    [Fact]
    public async Task A_message_above_maxMessageBytes_gets_a_413_frame_and_close_1009()
    {
        await using var gateway = await ConsoleGateway.StartAsync(BlackholeConfig("{ maxMessageBytes: 1024 }"));
        await using var client = await WebSocketClient.ConnectAsync(gateway);
        Assert.Equal("ack", (await client.SendAndReceiveAsync(new string('a', 1024))).GetProperty("type").GetString());

        // Sent in frames, as a client streaming a big message would.
        var big = Encoding.UTF8.GetBytes(new string('b', 5000));
        for (var offset = 0; offset < big.Length; offset += 1000)
        {
            await client.Socket.SendAsync(big.AsMemory(offset, 1000), WebSocketMessageType.Text, offset + 1000 >= big.Length, CancellationToken.None);
        }
        var error = await client.ReceiveJsonAsync();

        Assert.Equal(413, error.GetProperty("status").GetInt32());
        Assert.Equal("Request Entity Too Large", error.GetProperty("message").GetString());
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await client.ReceiveCloseAsync());
    }

    [Fact]
    public async Task A_message_above_its_routes_maxBodyBytes_gets_413_and_the_connection_stays_open()
    {
        await using var gateway = await ConsoleGateway.StartAsync(
            BlackholeConfig(defaultRoute: "{ route: \"WEBSOCKET $default\", target: sink, maxBodyBytes: 100 }"));
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        var refused = await client.SendAndReceiveAsync(new string('x', 101));
        var taken = await client.SendAndReceiveAsync(new string('x', 100));

        Assert.Equal(413, refused.GetProperty("status").GetInt32());
        Assert.Equal("ack", taken.GetProperty("type").GetString());
    }

    [Fact]
    public async Task An_idle_connection_is_closed_1001_after_idleTimeout_and_messages_keep_it_open()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        await using var gateway = await ConsoleGateway.StartAsync(BlackholeConfig("{ idleTimeout: 10m }"), new GatewayOptions { TimeProvider = time });
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal("ack", (await client.SendAndReceiveAsync("{}")).GetProperty("type").GetString());
        time.Advance(TimeSpan.FromMinutes(9));
        // 18 minutes after connecting, 9 after the last message: still open.
        Assert.Equal("ack", (await client.SendAndReceiveAsync("{}")).GetProperty("type").GetString());
        time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await client.ReceiveCloseAsync());
        Assert.Contains("idle", client.Socket.CloseStatusDescription, StringComparison.Ordinal);
        var lines = await gateway.AccessLogLinesAsync(4);
        Assert.Equal(1001, JsonDocument.Parse(lines[3]).RootElement.GetProperty("disconnectStatusCode").GetInt32());
    }

    [Fact]
    public async Task A_busy_connection_is_closed_1001_at_maxConnectionDuration()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));
        await using var gateway = await ConsoleGateway.StartAsync(BlackholeConfig("{ idleTimeout: 10m, maxConnectionDuration: 30m }"), new GatewayOptions { TimeProvider = time });
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        for (var minute = 0; minute < 27; minute += 9)
        {
            time.Advance(TimeSpan.FromMinutes(9));
            Assert.Equal("ack", (await client.SendAndReceiveAsync("{}")).GetProperty("type").GetString());
        }
        time.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await client.ReceiveCloseAsync());
        Assert.Contains("maximum connection duration", client.Socket.CloseStatusDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upgrades_beyond_maxConnections_get_503_until_one_closes()
    {
        await using var gateway = await ConsoleGateway.StartAsync(BlackholeConfig("{ maxConnections: 2 }"));
        await using var first = await WebSocketClient.ConnectAsync(gateway);
        await using var second = await WebSocketClient.ConnectAsync(gateway);

        var (third, status) = await WebSocketClient.TryConnectAsync(gateway);
        Assert.Null(third);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);

        await first.CloseAsync();
        // The place is given back once the server side of the connection has ended.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        WebSocketClient? again;
        while ((again = (await WebSocketClient.TryConnectAsync(gateway)).Client) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "no place freed within 10 s of a close");
            await Task.Delay(20);
        }
        await again.DisposeAsync();
    }

    [Fact]
    public async Task Shutdown_closes_every_connection_with_1001_and_sends_their_disconnect_events()
    {
        var backend = new RecordingTargetKind();
        var gateway = await ConsoleGateway.StartAsync(Config(), With(backend));
        var clients = new List<WebSocketClient>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                clients.Add(await WebSocketClient.ConnectAsync(gateway));
            }
            foreach (var client in clients)
            {
                Assert.Equal("ack", (await client.SendAndReceiveAsync("{}")).GetProperty("type").GetString());
            }

            var stopping = gateway.App.StopAsync();
            var codes = await Task.WhenAll(clients.Select(c => c.ReceiveCloseAsync()));
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.All(codes, c => Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, c));
            Assert.Equal(5, backend.Delivered.Values.Count(e => e.Header("event-type") == "DISCONNECT"));
            Assert.Equal(15, backend.Delivered.Count);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
            await gateway.DisposeAsync();
        }
    }
}
