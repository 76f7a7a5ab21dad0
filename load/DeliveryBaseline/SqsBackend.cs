using System.Globalization;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Ingest.Load.DeliveryBaseline;

/// <summary>
/// SQS through AWSSDK.SQS, the client the gateway uses: SendMessageBatch with the gateway's
/// attribute set per message (event id, route, receive time, content type, source ip,
/// traceparent), so the stand-in does the same work per message for both senders.
/// </summary>
internal sealed class SqsBackend(string endpoint, string queue) : IDeliveryBackend
{
    private static readonly string[] EntryIds = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private readonly AmazonSQSClient _client = new(
        new BasicAWSCredentials("test", "test"),
        new AmazonSQSConfig { ServiceURL = endpoint, AuthenticationRegion = "us-east-1" });

    private string? _queueUrl;
    private string _body = "";
    private int _batchSize = 10;

    public async Task CreateAsync(int shards, CancellationToken cancellationToken) =>
        await _client.CreateQueueAsync(new CreateQueueRequest { QueueName = queue }, cancellationToken);

    public async Task DeleteAsync(CancellationToken cancellationToken) =>
        await _client.DeleteQueueAsync(await QueueUrlAsync(cancellationToken), cancellationToken);

    public async Task PrepareSendAsync(byte[] body, int batchSize, CancellationToken cancellationToken)
    {
        await QueueUrlAsync(cancellationToken);
        _body = Encoding.UTF8.GetString(body);
        _batchSize = batchSize;
    }

    public async Task<(int Stored, int Failed)> SendBatchAsync(CancellationToken cancellationToken)
    {
        var entries = new List<SendMessageBatchRequestEntry>(_batchSize);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        for (var i = 0; i < _batchSize; i++)
        {
            entries.Add(new SendMessageBatchRequestEntry
            {
                Id = EntryIds[i],
                MessageBody = _body,
                MessageAttributes = new Dictionary<string, MessageAttributeValue>(StringComparer.Ordinal)
                {
                    ["ingest-event-id"] = Text(Guid.CreateVersion7().ToString("D")),
                    ["ingest-route"] = Text(SampleEvents.RouteKey),
                    ["ingest-received-at"] = Text(now),
                    ["content-type"] = Text(SampleEvents.ContentType),
                    ["ingest-source-ip"] = Text(SampleEvents.SourceIp),
                    ["traceparent"] = Text(SampleEvents.TraceParent()),
                },
            });
        }
        var response = await _client.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = _queueUrl, Entries = entries }, cancellationToken);
        var stored = response.Successful?.Count ?? 0;
        return (stored, _batchSize - stored);
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        var attributes = await _client.GetQueueAttributesAsync(
            new GetQueueAttributesRequest
            {
                QueueUrl = await QueueUrlAsync(cancellationToken),
                AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            },
            cancellationToken);
        // Nobody reads these queues, so nothing is in flight; counted anyway in case a reader did.
        return (long)attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private static MessageAttributeValue Text(string value) => new() { DataType = "String", StringValue = value };

    private async Task<string> QueueUrlAsync(CancellationToken cancellationToken) =>
        _queueUrl ??= (await _client.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = queue }, cancellationToken)).QueueUrl;
}
