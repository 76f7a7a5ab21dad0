using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Delivery;

/// <summary>Events through a real gateway into the SQS stand-in (fauxqs), read back and compared.</summary>
[Trait("Category", "Standins")]
public class SqsDeliveryTests(ITestOutputHelper output)
{
    private const string Endpoint = "http://127.0.0.1:4566";

    [Fact]
    public async Task Ten_thousand_events_from_32_connections_arrive_exactly_once_byte_identical()
    {
        var queue = $"it-{Guid.NewGuid():N}";
        await using var app = await DeliveryGateway.StartAsync($"sqs: \"{Endpoint}\"", $$"""
            targets:
              q: { type: sqs, queue: {{queue}}, batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true, contentTypes: [application/json, application/octet-stream] }
            """);
        var driver = new LoadDriver();

        await driver.RunAsync(DeliveryGateway.PublicUri(app), "/v1/events", 10_000, 32);

        var received = await ReceiveAllAsync(queue, driver.Acknowledged.Count, TimeSpan.FromSeconds(120));
        DeliveryGateway.AssertDeliveredExactlyOnce(output, driver, 10_000, received);
    }

    /// <summary>Reads and deletes messages until <paramref name="expected"/> distinct ids arrived or the deadline passes.</summary>
    internal static Task<List<(Guid Id, byte[] Body)>> ReceiveAllAsync(string queue, int expected, TimeSpan timeout) =>
        ReceiveAsync(queue, ids => ids.Count >= expected, timeout);

    /// <summary>
    /// Reads and deletes messages until every id of <paramref name="wanted"/> arrived or the deadline
    /// passes; other messages (events of requests the test did not count) are returned too.
    /// </summary>
    internal static Task<List<(Guid Id, byte[] Body)>> ReceiveAllAsync(string queue, IReadOnlyCollection<Guid> wanted, TimeSpan timeout) =>
        ReceiveAsync(queue, ids => wanted.All(ids.Contains), timeout);

    private static async Task<List<(Guid Id, byte[] Body)>> ReceiveAsync(string queue, Func<HashSet<Guid>, bool> done, TimeSpan timeout)
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1" });
        var url = (await sqs.GetQueueUrlAsync(queue)).QueueUrl;
        var received = new List<(Guid, byte[])>();
        var ids = new HashSet<Guid>();
        var deadline = DateTime.UtcNow + timeout;
        var readers = 4;
        while (!done(ids) && DateTime.UtcNow < deadline)
        {
            var batches = await Task.WhenAll(Enumerable.Range(0, readers).Select(_ => sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageAttributeNames = ["All"],
            })));
            foreach (var message in batches.SelectMany(b => b.Messages ?? []))
            {
                var id = Guid.Parse(message.MessageAttributes["ingest-event-id"].StringValue);
                var base64 = message.MessageAttributes.TryGetValue("ingest-encoding", out var encoding) && encoding.StringValue == "base64";
                var body = base64 ? Convert.FromBase64String(message.Body) : Encoding.UTF8.GetBytes(message.Body);
                received.Add((id, body));
                ids.Add(id);
            }
            var handles = batches.SelectMany(b => b.Messages ?? []).Select(m => m.ReceiptHandle).ToList();
            foreach (var chunk in handles.Chunk(10))
            {
                await sqs.DeleteMessageBatchAsync(url, chunk.Select((h, i) => new DeleteMessageBatchRequestEntry($"{i}", h)).ToList());
            }
        }
        return received;
    }
}
