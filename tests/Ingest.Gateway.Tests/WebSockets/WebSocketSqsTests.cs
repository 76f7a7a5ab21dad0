using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Ingest.Gateway.Tests.Admin;

namespace Ingest.Gateway.Tests.WebSockets;

/// <summary>WebSocket events into the shared SQS stand-in, read back with the AWS SDK. About 5 s.</summary>
[Trait("Category", "Standins")]
public class WebSocketSqsTests
{
    private const string Endpoint = "http://127.0.0.1:4566";

    [Fact]
    public async Task Connect_messages_and_disconnect_arrive_in_sqs_with_the_connection_id_and_the_acked_event_ids()
    {
        var queue = $"ws-{Guid.NewGuid():N}";
        await using var gateway = await ConsoleGateway.StartAsync($$"""
            aws: { region: us-east-1, accessKeyId: test, secretAccessKey: test, endpoints: { sqs: "{{Endpoint}}" }, createMissing: true }
            apiKeys: [{ id: fleet-a, sha256: {{WebSocketApiTests.SecretHash}} }]
            webSocket: { routeSelection: "json:action" }
            targets:
              q: { type: sqs, queue: {{queue}}, batch: { linger: 5ms } }
            routes:
              - { route: "WEBSOCKET $connect", target: q, auth: [apiKey] }
              - { route: "WEBSOCKET $default", target: q }
              - { route: "WEBSOCKET sendTelemetry", target: q }
              - { route: "WEBSOCKET $disconnect", target: q }
            """);
        var acked = new List<Guid>();
        await using (var client = await WebSocketClient.ConnectAsync(gateway))
        {
            for (var i = 0; i < 5; i++)
            {
                var ack = await client.SendAndReceiveAsync($$"""{"action":"sendTelemetry","n":{{i}}}""");
                acked.Add(Guid.Parse(ack.GetProperty("eventId").GetString()!));
            }
            await client.CloseAsync();
        }

        var messages = await ReceiveAsync(queue, 7, TimeSpan.FromSeconds(30));

        Assert.Equal(7, messages.Count);
        var connectionIds = messages.Select(m => m.MessageAttributes["ingest-h-connection-id"].StringValue).Distinct().ToList();
        Assert.Single(connectionIds);
        var byType = messages.ToLookup(m => m.MessageAttributes["ingest-h-event-type"].StringValue);
        Assert.Single(byType["CONNECT"]);
        Assert.Single(byType["DISCONNECT"]);
        var telemetry = byType["MESSAGE"].ToList();
        Assert.Equal(acked.Order(), telemetry.Select(m => Guid.Parse(m.MessageAttributes["ingest-event-id"].StringValue)).Order());
        Assert.All(telemetry, m => Assert.Equal("WEBSOCKET sendTelemetry", m.MessageAttributes["ingest-route"].StringValue));
        Assert.Equal(
            Enumerable.Range(0, 5).Select(i => $$"""{"action":"sendTelemetry","n":{{i}}}""").Order(),
            telemetry.Select(m => m.Body).Order());
    }

    private static async Task<List<Message>> ReceiveAsync(string queue, int expected, TimeSpan timeout)
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1" });
        var url = (await sqs.GetQueueUrlAsync(queue)).QueueUrl;
        var received = new Dictionary<string, Message>();
        var deadline = DateTime.UtcNow + timeout;
        while (received.Count < expected && DateTime.UtcNow < deadline)
        {
            var batch = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageAttributeNames = ["All"],
            });
            foreach (var message in batch.Messages ?? [])
            {
                received[message.MessageId] = message;
                await sqs.DeleteMessageAsync(url, message.ReceiptHandle);
            }
        }
        await sqs.DeleteQueueAsync(url);
        return [.. received.Values];
    }
}
