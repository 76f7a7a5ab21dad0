using System.Text.Json;
using Ingest.Targets.Kinesis;

namespace Ingest.Targets.Tests.Kinesis.Support;

/// <summary>Reads a whole stream back (ListShards, GetShardIterator, GetRecords), signed like the sender.</summary>
internal sealed class KinesisStreamReader(KinesisClient client)
{
    public async Task<List<StoredRecord>> ReadAllAsync(string stream, CancellationToken cancellationToken)
    {
        var records = new List<StoredRecord>();
        foreach (var shard in await client.ListShardsAsync(stream, cancellationToken))
        {
            string? iterator;
            using (var answer = await client.InvokeAsync(
                "GetShardIterator",
                w =>
                {
                    w.WriteString("StreamName", stream);
                    w.WriteString("ShardId", shard);
                    w.WriteString("ShardIteratorType", "TRIM_HORIZON");
                },
                cancellationToken))
            {
                iterator = answer.RootElement.GetProperty("ShardIterator").GetString();
            }
            // Everything was written before reading, so the first empty page is the end.
            while (iterator is not null)
            {
                var current = iterator;
                using var page = await client.InvokeAsync(
                    "GetRecords",
                    w =>
                    {
                        w.WriteString("ShardIterator", current);
                        w.WriteNumber("Limit", 1000);
                    },
                    cancellationToken);
                var items = page.RootElement.GetProperty("Records");
                foreach (var item in items.EnumerateArray())
                {
                    var data = item.GetProperty("Data").GetBytesFromBase64();
                    records.Add(new StoredRecord(Envelope.EventId(data), data, item.GetProperty("PartitionKey").GetString()!));
                }
                iterator = items.GetArrayLength() == 0 ? null
                    : page.RootElement.TryGetProperty("NextShardIterator", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString()
                    : null;
            }
        }
        return records;
    }
}
