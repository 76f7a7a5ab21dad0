using System.Diagnostics;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Xunit.Abstractions;
using static Ingest.Gateway.Tests.WebSockets.WebSocketApiTests;

namespace Ingest.Gateway.Tests.WebSockets;

/// <summary>Many connections at once: every message acked exactly once, every acked event delivered. 2.3-3.5 s of traffic on 2 cores (8 s with start-up).</summary>
public class WebSocketLoadTests(ITestOutputHelper output)
{
    private const int Connections = 200;
    private const int MessagesEach = 10;

    [Fact]
    public async Task Two_hundred_connections_sending_ten_messages_each_are_all_acked_in_order_and_delivered()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Config(), With(backend));
        var started = Stopwatch.StartNew();

        var acked = await Task.WhenAll(Enumerable.Range(0, Connections).Select(async c =>
        {
            await using var client = await WebSocketClient.ConnectAsync(gateway);
            // Pipelined: all ten sent before the first ack is read; acks come back in sending order.
            for (var m = 0; m < MessagesEach; m++)
            {
                await client.SendAsync($$"""{"connection":{{c}},"message":{{m}}}""");
            }
            var ids = new List<(Guid Id, int Connection, int Message)>();
            for (var m = 0; m < MessagesEach; m++)
            {
                var ack = await client.ReceiveJsonAsync();
                Assert.Equal("ack", ack.GetProperty("type").GetString());
                ids.Add((Guid.Parse(ack.GetProperty("eventId").GetString()!), c, m));
            }
            await client.CloseAsync();
            return ids;
        }));
        var elapsed = started.Elapsed;

        var all = acked.SelectMany(a => a).ToList();
        Assert.Equal(Connections * MessagesEach, all.Select(a => a.Id).Distinct().Count());
        await Poll.UntilAsync(() => backend.Delivered.Count == Connections * (MessagesEach + 2), TimeSpan.FromSeconds(30));
        foreach (var (id, connection, message) in all)
        {
            var body = System.Text.Encoding.UTF8.GetString(backend.Delivered[id].Body.Span);
            Assert.Equal($$"""{"connection":{{connection}},"message":{{message}}}""", body);
        }
        Assert.Equal(Connections, backend.Delivered.Values.Count(e => e.Header("event-type") == "CONNECT"));
        Assert.Equal(Connections, backend.Delivered.Values.Count(e => e.Header("event-type") == "DISCONNECT"));
        output.WriteLine($"{Connections} connections x {MessagesEach} messages acked in {elapsed.TotalMilliseconds:F0} ms");
        Assert.True(elapsed < TimeSpan.FromSeconds(60), $"took {elapsed}");
    }
}
