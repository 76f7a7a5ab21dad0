using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Ingest.Core.Diagnostics;

namespace Ingest.Targets.Kinesis;

/// <summary>
/// Kinesis instruments on the gateway's meter. Labels are the target (and a refresh reason), never a
/// shard or a partition key, so the number of series stays bounded however hot keys move.
/// </summary>
public sealed class KinesisMetrics
{
    // One set of instruments per meter: several kinesis targets (and redeploys) share them.
    private static readonly ConditionalWeakTable<Meter, KinesisMetrics> PerMeter = [];

    private readonly Lock _pacersGate = new();
    private readonly List<ShardPacer> _pacers = [];

    private KinesisMetrics(Meter meter)
    {
        RecordsPaced = meter.CreateCounter<long>("ingest_kinesis_records_paced", description: "Records held back because their shard's write budget was spent (a hot partition key or shard).");
        ThrottledRecords = meter.CreateCounter<long>("ingest_kinesis_throttled_records", description: "Records Kinesis refused with ProvisionedThroughputExceededException.");
        ShardMapRefreshes = meter.CreateCounter<long>("ingest_kinesis_shard_map_refreshes", description: "Shard map reads (ListShards), by reason.");
        meter.CreateObservableGauge("ingest_kinesis_hot_shards", ObserveHotShards, description: "Open shards whose write budget ran out in the last 10 seconds.");
    }

    public Counter<long> RecordsPaced { get; }

    public Counter<long> ThrottledRecords { get; }

    public Counter<long> ShardMapRefreshes { get; }

    /// <summary>The instruments on the gateway's meter.</summary>
    public static KinesisMetrics For(IngestMetrics metrics) => PerMeter.GetValue(metrics.Meter, static m => new KinesisMetrics(m));

    internal void Add(ShardPacer pacer)
    {
        lock (_pacersGate)
        {
            _pacers.Add(pacer);
        }
    }

    internal void Remove(ShardPacer pacer)
    {
        lock (_pacersGate)
        {
            _pacers.Remove(pacer);
        }
    }

    private IEnumerable<Measurement<long>> ObserveHotShards()
    {
        ShardPacer[] pacers;
        lock (_pacersGate)
        {
            pacers = [.. _pacers];
        }
        foreach (var pacer in pacers)
        {
            yield return new Measurement<long>(pacer.HotShardCount(), pacer.TargetTag);
        }
    }
}
