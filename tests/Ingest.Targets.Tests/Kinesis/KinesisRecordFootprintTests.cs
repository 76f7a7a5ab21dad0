using System.Text;
using Amazon.Runtime;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.Kinesis;

/// <summary>Tests that measure the whole managed heap: they run alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KinesisHeapMeasurementCollection
{
    public const string Name = "Kinesis heap measurement";
}

/// <summary>
/// A queued Kinesis event holds only itself: measuring it (on enqueue) neither builds nor keeps its
/// record, and the size measured is the size of the record built at send time.
/// </summary>
[Collection(KinesisHeapMeasurementCollection.Name)]
public sealed class KinesisRecordFootprintTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("header:x-device")]
    [InlineData("json:device")]
    public void The_measured_size_is_the_size_of_the_record_sent(string? partitionKey)
    {
        var encoder = new KinesisRecordEncoder(partitionKey);
        foreach (var e in KinesisTestEvents.Mixed(200, seed: 7))
        {
            Assert.Equal(encoder.Encode(e).WireBytes, encoder.MeasureWireBytes(e));
        }
    }

    [Fact]
    public void A_partition_key_cut_at_256_characters_is_measured_as_cut()
    {
        // A surrogate pair straddles the limit: the key is cut before it.
        var key = new string('k', 255) + "\U0001F600" + new string('z', 40);
        var e = KinesisTestEvents.Json("{}", "application/json", new KeyValuePair<string, string>("x-device", key));
        var encoder = new KinesisRecordEncoder("header:x-device");

        var record = encoder.Encode(e);

        Assert.Equal(255, record.PartitionKey.Length);
        Assert.Equal(record.WireBytes, encoder.MeasureWireBytes(e));
    }

    [Fact]
    public void Measuring_queued_events_keeps_no_copy_of_their_bodies()
    {
        const int count = 4000;
        var body = new string('x', 8 * 1024);
        var events = new List<IngestEvent>(count);
        for (var i = 0; i < count; i++)
        {
            events.Add(KinesisTestEvents.Json($$"""{"device":"d-{{i % 37}}","pad":"{{body}}"}"""));
        }
        using var sender = NewSender("json:device");

        var before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var e in events)
        {
            Assert.True(sender.MeasureWireBytes(e) > body.Length);
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(events);

        // A kept record would be another 8 KiB per event (32 MB here); allow stray allocations elsewhere.
        Assert.InRange(after - before, long.MinValue, count * 1024L);
    }

    private static KinesisBatchSender NewSender(string partitionKey)
    {
        var signer = new SigV4Signer("us-east-1", "kinesis", TimeProvider.System);
        var client = new KinesisClient(new HttpClient(), new Uri("https://kinesis.us-east-1.amazonaws.com"), signer, new BasicAWSCredentials("AKIDTEST", "secret"), null);
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks", PartitionKey = partitionKey };
        return new KinesisBatchSender("clicks", "clicks", client, new KinesisRecordEncoder(partitionKey), KinesisBatchSender.LimitsFor(options), NullLogger.Instance);
    }
}
