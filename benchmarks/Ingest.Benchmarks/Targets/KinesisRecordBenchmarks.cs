using BenchmarkDotNet.Attributes;
using Ingest.Core.Events;
using Ingest.Targets.Kinesis;

namespace Ingest.Benchmarks.Targets;

/// <summary>
/// One Kinesis record per event (<see cref="KinesisRecordEncoder.Encode"/>): JSON check of the body,
/// the JSON envelope written into a thread-local buffer and copied out at its exact size, the
/// partition key, and the key's MD5 hash (shard mapping). Baseline: copying the body into a new
/// array, the least a record that owns its data costs.
/// </summary>
[MemoryDiagnoser]
public class KinesisRecordBenchmarks
{
    private readonly KinesisRecordEncoder _random = new("random");
    private readonly KinesisRecordEncoder _byField = new("json:device");
    private readonly IngestEvent _json = SampleEvents.Create(1, SampleEvents.JsonBody);
    private readonly IngestEvent _binary = SampleEvents.Create(2, SampleEvents.JsonBody, "application/octet-stream");

    [Benchmark(Baseline = true, Description = "body copy (512 B)")]
    public byte[] BodyCopy() => _json.Body.ToArray();

    [Benchmark(Description = "Encode, JSON body embedded, random key")]
    public KinesisRecord EncodeJson() => _random.Encode(_json);

    [Benchmark(Description = "Encode, JSON body, key json:device")]
    public KinesisRecord EncodeJsonKeyedByField() => _byField.Encode(_json);

    [Benchmark(Description = "Encode, binary body as base64, random key")]
    public KinesisRecord EncodeBinary() => _random.Encode(_binary);
}
