using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Configuration;
using Ingest.Targets.Kinesis;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Targets.Tests.Kinesis.Shards;

public sealed class ShardMapTests
{
    [Theory]
    // MD5("a") = 0cc175b9c0f1b6a831c399e269772661, MD5("") is never asked (keys have 1..256 characters).
    [InlineData("a", "0cc175b9c0f1b6a831c399e269772661")]
    [InlineData("device-42", null)]
    [InlineData("ünïcödé ✓", null)]
    public void Partition_key_hash_is_the_MD5_as_a_big_endian_unsigned_integer(string key, string? md5Hex)
    {
#pragma warning disable CA5351 // Kinesis maps keys with MD5.
        var digest = MD5.HashData(Encoding.UTF8.GetBytes(key));
#pragma warning restore CA5351
        if (md5Hex is not null)
        {
            Assert.Equal(md5Hex, Convert.ToHexStringLower(digest));
        }
        var expected = new BigInteger(digest, isUnsigned: true, isBigEndian: true);

        Assert.Equal(expected.ToString(), PartitionKeyHash.Of(key).ToString());
    }

    [Fact]
    public void An_explicit_hash_key_wins_over_the_partition_key()
    {
        Assert.Equal(UInt128.MaxValue, PartitionKeyHash.For("a", "340282366920938463463374607431768211455"));
        Assert.Equal(PartitionKeyHash.Of("a"), PartitionKeyHash.For("a", null));
        Assert.False(PartitionKeyHash.TryParse("340282366920938463463374607431768211456", out _)); // 2^128
        Assert.False(PartitionKeyHash.TryParse("-1", out _));
        Assert.False(PartitionKeyHash.TryParse(" 1", out _));
    }

    [Fact]
    public void Lookup_finds_the_shard_whose_range_holds_the_hash_and_misses_gaps()
    {
        var quarter = UInt128.MaxValue / 4;
        var map = new ShardMap(
        [
            new ShardRange("s2", (quarter * 2) + 1, UInt128.MaxValue),
            new ShardRange("s0", 0, quarter),
            // quarter+1 .. 2*quarter is missing (a shard being split, say).
        ]);

        Assert.Equal(["s0", "s2"], map.Shards.Select(s => s.ShardId));
        Assert.Equal("s0", map.Shards[map.IndexOf(0)].ShardId);
        Assert.Equal("s0", map.Shards[map.IndexOf(quarter)].ShardId);
        Assert.Equal(-1, map.IndexOf(quarter + 1));
        Assert.Equal(-1, map.IndexOf(quarter * 2));
        Assert.Equal("s2", map.Shards[map.IndexOf((quarter * 2) + 1)].ShardId);
        Assert.Equal("s2", map.Shards[map.IndexOf(UInt128.MaxValue)].ShardId);
        Assert.Equal(-1, ShardMap.Empty.IndexOf(5));
    }

    [Theory]
    [InlineData(10, 400)] // small records: the record limit binds
    [InlineData(2000, 6000)] // large records: the byte limit binds
    public void Budget_never_passes_more_than_the_limit_in_any_one_second_window(int minBytes, int maxBytes)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var budget = new ShardBudget(recordsPerSecond: 1000, bytesPerSecond: 1024 * 1024, time);
        var random = new Random(5);
        var taken = new List<(long Ms, int Bytes)>();
        // 20 s of a sender that asks far more than the limit, in uneven steps.
        for (var ms = 0L; ms < 20_000; ms += random.Next(1, 30))
        {
            time.SetUtcNow(DateTimeOffset.UnixEpoch.AddMilliseconds(ms));
            for (var n = random.Next(0, 400); n > 0; n--)
            {
                var bytes = random.Next(minBytes, maxBytes);
                if (budget.TryTake(bytes))
                {
                    taken.Add((ms, bytes));
                }
            }
        }

        var worstRecords = 0;
        long worstBytes = 0;
        for (var i = 0; i < taken.Count; i++)
        {
            var records = 0;
            long bytes = 0;
            for (var j = i; j < taken.Count && taken[j].Ms < taken[i].Ms + 1000; j++)
            {
                records++;
                bytes += taken[j].Bytes;
            }
            worstRecords = Math.Max(worstRecords, records);
            worstBytes = Math.Max(worstBytes, bytes);
        }
        Assert.True(worstRecords <= 1000, $"{worstRecords} records in one second");
        Assert.True(worstBytes <= 1024 * 1024 + maxBytes, $"{worstBytes} bytes in one second");
        // And not starved: at least 85% of the binding limit over the run (the budget aims at 90%).
        var recordShare = taken.Count / 20.0 / 1000;
        var byteShare = taken.Sum(t => (long)t.Bytes) / 20.0 / (1024 * 1024);
        Assert.True(Math.Max(recordShare, byteShare) is >= 0.85 and <= 0.91, $"records {recordShare:P1}, bytes {byteShare:P1} of the limit");
    }

    [Fact]
    public void Budget_waits_for_a_refill_and_says_how_long()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var budget = new ShardBudget(recordsPerSecond: 1000, bytesPerSecond: 1024 * 1024, time);
        for (var i = 0; i < 100; i++)
        {
            Assert.True(budget.TryTake(10), $"record {i}");
        }
        Assert.False(budget.TryTake(10));
        Assert.True(budget.RefusedWithin(TimeSpan.FromSeconds(1)));

        // 50 records at 900/s: 55.6 ms.
        Assert.Equal(55.6, budget.TimeUntil(50, 500).TotalMilliseconds, 0.1);
        time.Advance(TimeSpan.FromMilliseconds(56));
        for (var i = 0; i < 50; i++)
        {
            Assert.True(budget.TryTake(10), $"refilled record {i}");
        }
        Assert.False(budget.TryTake(10));
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(budget.RefusedWithin(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_record_larger_than_the_bucket_goes_when_the_bucket_is_full_and_leaves_a_debt()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var budget = new ShardBudget(recordsPerSecond: 1000, bytesPerSecond: 1024 * 1024, time);

        Assert.True(budget.TryTake(1024 * 1024));
        Assert.False(budget.TryTake(1));
        // The debt is about 0.9 MiB plus one byte, repaid at 0.9 MiB/s.
        Assert.InRange(budget.TimeUntil(1, 1).TotalSeconds, 0.99, 1.01);
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_last_map_and_is_tried_again_later()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var calls = 0;
        IReadOnlyList<ShardRange> shards = [new ShardRange("s0", 0, UInt128.MaxValue)];
        using var pacer = new ShardPacer(
            "t",
            new KinesisShardOptions { Refresh = TimeSpan.FromSeconds(60) },
            _ => ++calls == 2 ? throw new HttpRequestException("connection refused") : Task.FromResult(shards),
            time,
            null,
            NullLogger.Instance);

        Assert.True(await pacer.RefreshAsync("start", CancellationToken.None));
        Assert.Equal(1, pacer.Map.Count);

        await pacer.RefreshIfDueAsync(CancellationToken.None);
        Assert.Equal(1, calls); // not due yet

        pacer.MarkStale("unknown shard");
        time.Advance(TimeSpan.FromSeconds(1));
        await pacer.RefreshIfDueAsync(CancellationToken.None);
        Assert.Equal(2, calls); // failed
        Assert.Equal("s0", pacer.Map.Shards[0].ShardId);

        time.Advance(TimeSpan.FromSeconds(4));
        await pacer.RefreshIfDueAsync(CancellationToken.None);
        Assert.Equal(2, calls);
        time.Advance(ShardPacer.FailedRefreshRetry);
        shards = [new ShardRange("s1", 0, UInt128.MaxValue / 2), new ShardRange("s2", (UInt128.MaxValue / 2) + 1, UInt128.MaxValue)];
        await pacer.RefreshIfDueAsync(CancellationToken.None);
        Assert.Equal(3, calls);
        Assert.Equal(["s1", "s2"], pacer.Map.Shards.Select(s => s.ShardId));

        time.Advance(TimeSpan.FromSeconds(61));
        await pacer.RefreshIfDueAsync(CancellationToken.None);
        Assert.Equal(4, calls); // periodic
    }
}
