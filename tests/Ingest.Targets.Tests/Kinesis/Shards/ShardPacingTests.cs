using System.Diagnostics;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Ingest.Targets.Tests.Kinesis.Shards;

/// <summary>
/// The real BatchingWriter and KinesisBatchSender against a fake Kinesis that enforces the
/// per-shard write limits in one-second windows and can split a shard while records flow.
/// </summary>
public sealed class ShardPacingTests(ITestOutputHelper output)
{
    private const string HotKey = "device-hot";

    [Fact]
    public async Task Hot_key_load_with_a_split_mid_run_is_paced_under_the_shard_limits_and_delivered_exactly_once()
    {
        // 8,000 events, half of them on one partition key: that shard needs >= 4.4 s at 90% of
        // 1,000 records/s; the split adds up to one refresh interval. Bounded at 30 s.
        await using var limited = await StartLimitedAsync();
        limited.CreateStream("clicks", shardCount: 4);
        using var metrics = new MetricsHost();
        using var paced = new CounterProbe(metrics.Factory, "ingest_kinesis_records_paced", "clicks");
        using var throttled = new CounterProbe(metrics.Factory, "ingest_kinesis_throttled_records", "clicks");
        using var refreshes = new CounterProbe(metrics.Factory, "ingest_kinesis_shard_map_refreshes", "clicks");
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks", PartitionKey = "header:x-device" };
        var context = KinesisTestSetup.Context(limited.Endpoint) with { Metrics = metrics.Metrics };
        var sender = (KinesisBatchSender)await new KinesisTargetKind().CreateSenderAsync("clicks", options, context, CancellationToken.None);
        Assert.Equal(4, sender.Pacer!.Map.Count);
        var hotShard = limited.ShardFor("clicks", HotKey).Id;

        var deadLetters = new CollectingDeadLetters();
        FakeShard? low = null, high = null;
        var events = HotKeyEvents(8000, hotShare: 0.5, seed: 3);
        var clock = Stopwatch.StartNew();
        await using (var writer = new BatchingWriter(
            "clicks", sender, KinesisTestSetup.FastSettings(sender.Limits, maxRecords: 500, maxAttempts: 8),
            new BufferBudget(1L << 30), deadLetters, metrics.Metrics, TimeProvider.System, NullLogger.Instance))
        {
            writer.Start();
            foreach (var e in events)
            {
                Assert.Equal(EnqueueResult.Accepted, writer.TryEnqueue(e));
            }

            // Reshard while the hot shard is busy: its parent closes, the children take its range.
            await PollAsync(() => limited.StoreCounts.Count >= 3000, TimeSpan.FromSeconds(20), "3000 records stored");
            (low, high) = limited.SplitShard("clicks", hotShard);
            output.WriteLine($"split {hotShard} into {low.Id} and {high.Id} at {clock.Elapsed.TotalSeconds:0.0}s");

            var results = await KinesisTestSetup.WhenAllCompleted(events, TimeSpan.FromSeconds(30));
            Assert.All(results, Assert.True);
        }
        var elapsed = clock.Elapsed;

        var shards = limited.ShardsOf("clicks");
        output.WriteLine($"{events.Count} events in {elapsed.TotalSeconds:0.0}s; {limited.PutRecordsCalls} calls; throttled answers {limited.ThrottledRecords}; paced {paced.Total}; map refreshes {refreshes.Total}");
        foreach (var shard in shards)
        {
            output.WriteLine($"  {shard.Id} open={shard.Open} stored={shard.StoredRecords} max/s={shard.MaxWindowRecords}");
        }

        Assert.Empty(deadLetters.Items);
        Assert.Equal(events.Count, limited.StoreCounts.Count);
        Assert.All(limited.StoreCounts, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(0, limited.ResentAfterSuccess);
        // Pacing, not Kinesis, held the hot key back: throttled answers stay near zero (0.5% allows
        // clock jitter at window edges) and the metric counts what the fake counted.
        Assert.True(limited.ThrottledRecords <= events.Count / 200, $"{limited.ThrottledRecords} records throttled by the fake");
        Assert.Equal(limited.ThrottledRecords, throttled.Total);
        Assert.True(paced.Total > 0, "no record was paced under a hot key");
        Assert.True(events.Count(e => e.Attempts > 1) <= events.Count / 200, "throttling reached the writer's retries");
        // The sender noticed the split from the shard ids in the answers and read the map again.
        var open = shards.Where(s => s.Open).Select(s => s.Id).Order().ToArray();
        Assert.Equal(5, open.Length);
        Assert.Equal(open, sender.Pacer.Map.Shards.Select(s => s.ShardId).Order());
        Assert.True(low!.StoredRecords + high!.StoredRecords > 0, "nothing went to the children");
        Assert.All(shards, s => Assert.True(s.MaxWindowRecords <= 1000, $"{s.Id}: {s.MaxWindowRecords} records in one second"));
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"took {elapsed}");
        ((IDisposable)sender).Dispose();
    }

    [Fact]
    public async Task Without_pacing_the_fake_throttles_a_hot_key()
    {
        // The control for the test above: the same fake refuses what a shard cannot take.
        await using var limited = await StartLimitedAsync();
        limited.CreateStream("clicks", shardCount: 2);
        using var metrics = new MetricsHost();
        using var throttled = new CounterProbe(metrics.Factory, "ingest_kinesis_throttled_records", "clicks");
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks", PartitionKey = "header:x-device", Shards = new KinesisShardOptions { Pace = false } };
        var context = KinesisTestSetup.Context(limited.Endpoint) with { Metrics = metrics.Metrics };
        using var sender = (KinesisBatchSender)await new KinesisTargetKind().CreateSenderAsync("clicks", options, context, CancellationToken.None);
        Assert.Null(sender.Pacer);

        // 5,000 records of one key in ten concurrent calls: even spread over three one-second
        // windows, at least 2,000 are over the limit.
        var chunks = HotKeyEvents(5000, hotShare: 1, seed: 4).Chunk(500).ToArray();
        foreach (var e in chunks.SelectMany(c => c))
        {
            sender.MeasureWireBytes(e);
        }
        var results = chunks.Select(c => new EntryOutcome[c.Length]).ToArray();
        await Task.WhenAll(chunks.Select((c, i) => sender.SendAsync(c, results[i], CancellationToken.None)));
        var outcomes = results.SelectMany(r => r).ToList();

        output.WriteLine($"stored {limited.StoreCounts.Count}, throttled {limited.ThrottledRecords}, calls {limited.PutRecordsCalls}; " + string.Join(", ", limited.ShardsOf("clicks").Select(s => $"{s.Id}: {s.StoredRecords} max/s {s.MaxWindowRecords}")));
        Assert.True(limited.ThrottledRecords >= 1000, $"{limited.ThrottledRecords} throttled");
        Assert.Equal(limited.ThrottledRecords, outcomes.Count(o => o == EntryOutcome.Retry));
        Assert.Equal(limited.ThrottledRecords, throttled.Total);
    }

    [Fact]
    public async Task Records_held_back_longer_than_maxDelay_go_back_to_the_writer_as_retries()
    {
        await using var limited = await StartLimitedAsync();
        limited.CreateStream("clicks", shardCount: 1);
        var options = new TargetOptions
        {
            Type = "kinesis",
            Stream = "clicks",
            PartitionKey = "header:x-device",
            Shards = new KinesisShardOptions { MaxDelay = TimeSpan.FromMilliseconds(50) },
        };
        using var sender = (KinesisBatchSender)await new KinesisTargetKind().CreateSenderAsync("clicks", options, KinesisTestSetup.Context(limited.Endpoint), CancellationToken.None);
        var batch = HotKeyEvents(500, hotShare: 1, seed: 5);
        foreach (var e in batch)
        {
            sender.MeasureWireBytes(e);
        }
        var outcomes = new EntryOutcome[batch.Count];

        await sender.SendAsync(batch, outcomes, CancellationToken.None);

        // The bucket holds 100 records; the next 100 would take 111 ms, more than the 50 ms allowed.
        var delivered = outcomes.Count(o => o == EntryOutcome.Delivered);
        Assert.InRange(delivered, 100, 150);
        Assert.Equal(batch.Count - delivered, outcomes.Count(o => o == EntryOutcome.Retry));
        Assert.Equal(0, limited.ThrottledRecords);
        // Order within the key is kept: what went is a prefix of the batch.
        Assert.All(outcomes.Take(delivered), o => Assert.Equal(EntryOutcome.Delivered, o));
    }

    [Fact]
    public async Task Open_shards_are_read_across_pages_and_closed_parents_are_left_out()
    {
        await using var paged = await FakeKinesisServer.StartAsync(listShardsPageSize: 2);
        paged.CreateStream("clicks", shardCount: 3);
        paged.SplitShard("clicks", "shardId-000000000001");
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks" };
        using var client = KinesisTargetKind.CreateClient("clicks", options, KinesisTestSetup.Context(paged.Endpoint));

        var shards = await client.ListOpenShardsAsync("clicks", CancellationToken.None);

        Assert.Equal(["shardId-000000000000", "shardId-000000000002", "shardId-000000000003", "shardId-000000000004"], shards.Select(s => s.ShardId).Order());
        Assert.True(paged.ListShardsCalls >= 3, $"{paged.ListShardsCalls} pages");
        var map = new ShardMap(shards);
        Assert.Equal(UInt128.Zero, map.Shards[0].StartingHashKey);
        Assert.Equal(UInt128.MaxValue, map.Shards[^1].EndingHashKey);
        for (var i = 1; i < map.Count; i++)
        {
            Assert.Equal(map.Shards[i - 1].EndingHashKey + 1, map.Shards[i].StartingHashKey);
        }
        // The map and the fake agree on where keys go.
        for (var i = 0; i < 200; i++)
        {
            var key = $"k-{i}";
            Assert.Equal(paged.ShardFor("clicks", key).Id, map.Shards[map.IndexOf(PartitionKeyHash.Of(key))].ShardId);
        }
    }

    [Fact]
    public async Task Without_ListShards_permission_records_are_sent_unpaced()
    {
        await using var limited = await StartLimitedAsync(denyListShards: true);
        limited.CreateStream("clicks", shardCount: 1);
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks", PartitionKey = "header:x-device" };
        using var sender = (KinesisBatchSender)await new KinesisTargetKind().CreateSenderAsync("clicks", options, KinesisTestSetup.Context(limited.Endpoint), CancellationToken.None);
        Assert.Equal(0, sender.Pacer!.Map.Count);
        var batch = HotKeyEvents(300, hotShare: 0.5, seed: 6);
        foreach (var e in batch)
        {
            sender.MeasureWireBytes(e);
        }
        var outcomes = new EntryOutcome[batch.Count];

        await sender.SendAsync(batch, outcomes, CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(EntryOutcome.Delivered, o));
    }

    private static Task<FakeKinesisServer> StartLimitedAsync(bool denyListShards = false) =>
        FakeKinesisServer.StartAsync(creatingDescribes: 0, enforceShardLimits: true, denyListShards: denyListShards);

    /// <summary>Events keyed by <c>x-device</c>: a share on <see cref="HotKey"/>, the rest spread over 500 keys.</summary>
    private static List<IngestEvent> HotKeyEvents(int count, double hotShare, int seed)
    {
        var random = new Random(seed);
        var events = new List<IngestEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var key = random.NextDouble() < hotShare ? HotKey : $"device-{random.Next(500)}";
            var body = System.Text.Encoding.UTF8.GetBytes($$"""{"device":"{{key}}","seq":{{i}},"pad":"{{new string('p', random.Next(50, 300))}}"}""");
            events.Add(KinesisTestEvents.Create(body, "application/json", [new("x-device", key)], trackDelivery: true));
        }
        return events;
    }

    private static async Task PollAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < timeout, $"not reached within {timeout.TotalSeconds:0}s: {what}");
            await Task.Delay(10);
        }
    }
}
