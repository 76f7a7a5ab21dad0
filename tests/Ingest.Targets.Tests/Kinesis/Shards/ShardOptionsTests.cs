using Ingest.Core.Configuration;
using Ingest.Targets.Kinesis;

namespace Ingest.Targets.Tests.Kinesis.Shards;

public sealed class ShardOptionsTests
{
    [Fact]
    public void Shard_options_bind_from_yaml_with_documented_defaults()
    {
        var config = ConfigLoader.Load("""
            targets:
              a: { type: kinesis, stream: a, shards: { recordsPerSecond: 500, bytesPerSecond: 524288, refresh: 30s, maxDelay: 2s } }
              b: { type: kinesis, stream: b, shards: { pace: false } }
              c: { type: kinesis, stream: c }
            routes: []
            """);

        var a = config.Targets["a"].Shards!;
        Assert.True(a.Pace);
        Assert.Equal(500, a.RecordsPerSecond);
        Assert.Equal(524288, a.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(30), a.Refresh);
        Assert.Equal(TimeSpan.FromSeconds(2), a.MaxDelay);
        Assert.False(config.Targets["b"].Shards!.Pace);
        Assert.Null(config.Targets["c"].Shards);
        var defaults = new KinesisShardOptions();
        Assert.Equal((true, 1000, 1048576L, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10)), (defaults.Pace, defaults.RecordsPerSecond, defaults.BytesPerSecond, defaults.Refresh, defaults.MaxDelay));
    }

    [Fact]
    public void Every_bad_shard_setting_is_reported_with_its_fix()
    {
        var errors = new List<string>();
        new KinesisTargetKind().Validate("clicks", new TargetOptions
        {
            Type = "kinesis",
            Stream = "clicks",
            Shards = new KinesisShardOptions { RecordsPerSecond = 0, BytesPerSecond = 10, Refresh = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.Zero },
        }, errors);

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("targets.clicks.shards.recordsPerSecond: 0 must be at least 1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.clicks.shards.bytesPerSecond: 10 must be at least 1024", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.clicks.shards.refresh: must be at least 1s", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.clicks.shards.maxDelay: must be above zero", StringComparison.Ordinal));
    }
}
