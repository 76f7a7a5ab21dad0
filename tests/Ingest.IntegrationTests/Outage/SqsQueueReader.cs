using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Ingest.IntegrationTests.Outage;

/// <summary>Reads and deletes every message of a queue on an SQS stand-in, with several readers at once.</summary>
internal static class SqsQueueReader
{
    /// <summary>Reads until every id of <paramref name="expected"/> arrived or <paramref name="timeout"/> passed; returns every message read, duplicates included.</summary>
    public static async Task<List<(Guid Id, byte[] Body)>> ReadAsync(string endpoint, string queue, IReadOnlyCollection<Guid> expected, TimeSpan timeout)
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = endpoint, AuthenticationRegion = "us-east-1" });
        var url = (await sqs.GetQueueUrlAsync(queue)).QueueUrl;
        var missing = new HashSet<Guid>(expected);
        var received = new List<(Guid, byte[])>();
        var deadline = DateTime.UtcNow + timeout;
        while (missing.Count > 0 && DateTime.UtcNow < deadline)
        {
            var batches = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = url,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 1,
                VisibilityTimeout = 600,
                MessageAttributeNames = ["All"],
            })));
            var messages = batches.SelectMany(b => b.Messages ?? []).ToList();
            foreach (var message in messages)
            {
                var id = Guid.Parse(message.MessageAttributes["ingest-event-id"].StringValue);
                var base64 = message.MessageAttributes.TryGetValue("ingest-encoding", out var encoding) && encoding.StringValue == "base64";
                received.Add((id, base64 ? Convert.FromBase64String(message.Body) : Encoding.UTF8.GetBytes(message.Body)));
                missing.Remove(id);
            }
            await Task.WhenAll(messages.Select(m => m.ReceiptHandle).Chunk(10).Select(chunk =>
                sqs.DeleteMessageBatchAsync(url, chunk.Select((h, i) => new DeleteMessageBatchRequestEntry($"{i}", h)).ToList())));
        }
        return received;
    }
}
