using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Ingest.IntegrationTests.Delivery;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Crash;

/// <summary>
/// kill -9 mid-load with <c>ack: durable</c>, restart on the same directory: no acknowledged event is
/// lost (see <see cref="CrashScenario"/>). Each: two process starts (2-4 s on an idle machine), 5 s of
/// load (15 s at most on a busy one), replay and read-back bounded by 25 s; about 20 s in all when idle.
/// </summary>
[Trait("Category", "Standins")]
public class CrashRecoveryTests(ITestOutputHelper output)
{
    private const string SqsEndpoint = "http://127.0.0.1:4566";
    private const string KinesisEndpoint = "http://127.0.0.1:4567";

    [Fact]
    public async Task Sqs_every_event_acknowledged_before_kill_9_is_in_the_queue_after_restart()
    {
        var queue = $"crash-{Guid.NewGuid():N}";
        await CrashScenario.RunAsync(output, $"sqs: \"{SqsEndpoint}\"", $$"""
            targets:
              t: { type: sqs, queue: {{queue}}, batch: { linger: 200ms } }
            """, (done, timeout) => ReadQueueAsync(queue, done, timeout));
    }

    [Fact]
    public async Task Kinesis_every_event_acknowledged_before_kill_9_is_in_the_stream_after_restart()
    {
        var stream = $"crash-{Guid.NewGuid():N}";
        await CrashScenario.RunAsync(output, $"kinesis: \"{KinesisEndpoint}\"", $$"""
            targets:
              t: { type: kinesis, stream: {{stream}}, partitionKey: json:device, batch: { linger: 200ms } }
            """, (done, timeout) => ReadStreamAsync(stream, done, timeout));
    }

    /// <summary>Receives and deletes messages until <paramref name="done"/> holds or the deadline passes.</summary>
    private static async Task<List<(Guid Id, byte[] Body)>> ReadQueueAsync(string queue, Func<List<(Guid Id, byte[] Body)>, bool> done, TimeSpan timeout)
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = SqsEndpoint, AuthenticationRegion = "us-east-1" });
        var url = (await sqs.GetQueueUrlAsync(queue)).QueueUrl;
        var received = new List<(Guid Id, byte[] Body)>();
        var deadline = DateTime.UtcNow + timeout;
        var emptyAfterDone = 0;
        // After everything expected is there, two empty rounds more catch late duplicates.
        while (DateTime.UtcNow < deadline && emptyAfterDone < 2)
        {
            var batches = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                MessageAttributeNames = ["All"],
            })));
            var messages = batches.SelectMany(b => b.Messages ?? []).ToList();
            foreach (var message in messages)
            {
                var id = Guid.Parse(message.MessageAttributes["ingest-event-id"].StringValue);
                var base64 = message.MessageAttributes.TryGetValue("ingest-encoding", out var encoding) && encoding.StringValue == "base64";
                received.Add((id, base64 ? Convert.FromBase64String(message.Body) : Encoding.UTF8.GetBytes(message.Body)));
            }
            foreach (var chunk in messages.Select(m => m.ReceiptHandle).Chunk(10))
            {
                await sqs.DeleteMessageBatchAsync(url, chunk.Select((h, i) => new DeleteMessageBatchRequestEntry($"{i}", h)).ToList());
            }
            if (messages.Count == 0 && done(received))
            {
                emptyAfterDone++;
            }
        }
        return received;
    }

    /// <summary>Reads the whole stream again until <paramref name="done"/> holds or the deadline passes.</summary>
    private static async Task<List<(Guid Id, byte[] Body)>> ReadStreamAsync(string stream, Func<List<(Guid Id, byte[] Body)>, bool> done, TimeSpan timeout)
    {
        using var reader = new KinesaliteReader(KinesisEndpoint);
        var deadline = DateTime.UtcNow + timeout;
        List<(Guid Id, byte[] Body)> received;
        do
        {
            var records = await reader.ReadAllAsync(stream, int.MaxValue, TimeSpan.FromSeconds(1));
            received = records.Select(r => (r.GetProperty("eventId").GetGuid(), BodyOf(r))).ToList();
        }
        while (!done(received) && DateTime.UtcNow < deadline);
        return received;
    }

    private static byte[] BodyOf(JsonElement envelope) =>
        envelope.TryGetProperty("bodyBase64", out var base64)
            ? base64.GetBytesFromBase64()
            : Encoding.UTF8.GetBytes(envelope.GetProperty("body").GetRawText());
}
