using System.Text.Json;
using Amazon.Runtime;
using Ingest.Core.Aws;
using Ingest.Targets.Kinesis;

namespace Ingest.Load.DeliveryBaseline;

/// <summary>
/// Kinesis through the gateway's own <see cref="KinesisClient"/> (PutRecords, SigV4), with records
/// made by the gateway's <see cref="KinesisRecordEncoder"/> (same envelope, random partition key),
/// so the stand-in stores the same bytes for both senders.
/// </summary>
internal sealed class KinesisBackend(string endpoint, string stream) : IDeliveryBackend
{
    private readonly KinesisClient _client = new(
        new HttpClient(new SocketsHttpHandler { UseProxy = false }, disposeHandler: true) { Timeout = TimeSpan.FromSeconds(30) },
        new Uri(endpoint),
        new SigV4Signer("us-east-1", "kinesis", TimeProvider.System),
        new BasicAWSCredentials("test", "test"));

    private readonly KinesisRecordEncoder _encoder = new(partitionKeySource: null);
    private byte[] _body = [];
    private int _batchSize = 500;

    // Counting: one iterator per shard, kept between calls so a count continues where it stopped.
    private List<string?>? _iterators;
    private long _counted;

    public async Task CreateAsync(int shards, CancellationToken cancellationToken)
    {
        await _client.CreateStreamAsync(stream, shards, cancellationToken);
        // kinesalite runs with createStreamMs 0, but CREATING still has to turn ACTIVE.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await _client.DescribeStreamSummaryAsync(stream, cancellationToken))?.Status != "ACTIVE")
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"stream {stream} not ACTIVE after 30 s");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    public Task DeleteAsync(CancellationToken cancellationToken) => _client.DeleteStreamAsync(stream, cancellationToken);

    public Task PrepareSendAsync(byte[] body, int batchSize, CancellationToken cancellationToken)
    {
        _body = body;
        _batchSize = batchSize;
        return Task.CompletedTask;
    }

    public async Task<(int Stored, int Failed)> SendBatchAsync(CancellationToken cancellationToken)
    {
        var records = new KinesisRecord[_batchSize];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = _encoder.Encode(SampleEvents.Create(_body));
        }
        var codes = new string?[records.Length];
        var result = await _client.PutRecordsAsync(stream, records, codes, reportFirstWhere: null, cancellationToken);
        return (records.Length - result.FailedRecordCount, result.FailedRecordCount);
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        if (_iterators is null)
        {
            _iterators = [];
            foreach (var shard in await _client.ListShardsAsync(stream, cancellationToken))
            {
                using var answer = await _client.InvokeAsync(
                    "GetShardIterator",
                    w =>
                    {
                        w.WriteString("StreamName", stream);
                        w.WriteString("ShardId", shard);
                        w.WriteString("ShardIteratorType", "TRIM_HORIZON");
                    },
                    cancellationToken);
                _iterators.Add(answer.RootElement.GetProperty("ShardIterator").GetString());
            }
        }
        for (var i = 0; i < _iterators.Count; i++)
        {
            // Read each shard until a page comes back empty: caught up with what is stored now.
            while (_iterators[i] is { } iterator)
            {
                using var page = await _client.InvokeAsync(
                    "GetRecords",
                    w =>
                    {
                        w.WriteString("ShardIterator", iterator);
                        w.WriteNumber("Limit", 10000);
                    },
                    cancellationToken);
                var records = page.RootElement.GetProperty("Records").GetArrayLength();
                _counted += records;
                _iterators[i] = page.RootElement.TryGetProperty("NextShardIterator", out var next) && next.ValueKind == JsonValueKind.String
                    ? next.GetString()
                    : null;
                if (records == 0)
                {
                    break;
                }
            }
        }
        return _counted;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
