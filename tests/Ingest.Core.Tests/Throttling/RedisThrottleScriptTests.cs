using Ingest.Core.Throttling;
using StackExchange.Redis;

namespace Ingest.Core.Tests.Throttling;

/// <summary>The shared throttle's Lua script against the Redis stand-in (scripts/standins.sh start redis).</summary>
[Trait("Category", "Standins")]
public sealed class RedisThrottleScriptTests : IAsyncLifetime
{
    private const string Endpoint = "127.0.0.1:6390";
    private readonly string _prefix = $"ut-{Guid.NewGuid():N}:";
    private ConnectionMultiplexer _redis = null!;

    private IDatabase Database => _redis.GetDatabase();

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(Endpoint);

    public async Task DisposeAsync()
    {
        await foreach (var key in _redis.GetServer(Endpoint).KeysAsync(pattern: _prefix + "*"))
        {
            await Database.KeyDeleteAsync(key);
        }
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Lua_calendar_periods_end_where_the_dotnet_ones_do()
    {
        var random = new Random(42);
        var instants = new List<DateTimeOffset>
        {
            new(2026, 3, 15, 23, 59, 59, TimeSpan.Zero), // Sunday
            new(2026, 3, 16, 0, 0, 0, TimeSpan.Zero),    // Monday
            new(2028, 2, 29, 12, 0, 0, TimeSpan.Zero),   // leap day
            new(2026, 12, 31, 23, 59, 59, TimeSpan.Zero),
            new(2000, 2, 29, 0, 0, 0, TimeSpan.Zero),
            new(2100, 2, 28, 23, 0, 0, TimeSpan.Zero),   // not a leap year
        };
        for (var i = 0; i < 200; i++)
        {
            instants.Add(DateTimeOffset.FromUnixTimeSeconds(random.NextInt64(0, 4_102_444_800)));
        }

        foreach (var instant in instants)
        {
            foreach (var period in new[] { QuotaPeriod.Day, QuotaPeriod.Week, QuotaPeriod.Month })
            {
                var secs = instant.ToUnixTimeSeconds();
                var answer = (RedisResult[])(await Database.ScriptEvaluateAsync(
                    RedisThrottleScript.PeriodFunctions + "local id, left = period_of(tonumber(ARGV[1]), tonumber(ARGV[2])) return {id, left}",
                    values: [secs, (int)period]))!;
                var end = QuotaPeriods.Current(period, instant).End;
                Assert.True(end.ToUnixTimeSeconds() == secs + (long)answer[1], $"{period} of {instant:O}: Lua ends {secs + (long)answer[1]}, .NET {end.ToUnixTimeSeconds()}");
                var next = (RedisResult[])(await Database.ScriptEvaluateAsync(
                    RedisThrottleScript.PeriodFunctions + "local id, left = period_of(tonumber(ARGV[1]), tonumber(ARGV[2])) return {id, left}",
                    values: [end.ToUnixTimeSeconds(), (int)period]))!;
                Assert.Equal((long)answer[0] + 1, (long)next[0]);
            }
        }
    }

    [Fact]
    public async Task A_later_bucket_refusing_leaves_earlier_buckets_untouched()
    {
        var roomy = new TokenBucketSpec(1, 10);
        var tight = new TokenBucketSpec(1, 1);
        RedisKey[] keys = [_prefix + "roomy", _prefix + "tight"];
        RedisValue[] values = [2, roomy.IntervalUs, roomy.ToleranceUs, tight.IntervalUs, tight.ToleranceUs, 0, 0];

        var first = await EvaluateAsync(keys, values);
        var roomyAfterFirst = (long)await Database.StringGetAsync(keys[0]);
        var second = await EvaluateAsync(keys, values);

        Assert.Equal(0, (long)first[0]);
        Assert.Equal(1, (long)second[0]);   // refused
        Assert.Equal(2, (long)second[1]);   // by the second bucket
        Assert.InRange((long)second[2], 1, 1_000_000); // µs until a token frees: 1 s minus the time between the calls
        Assert.Equal(roomyAfterFirst, (long)await Database.StringGetAsync(keys[0]));
        var ttl = await Database.KeyTimeToLiveAsync(keys[1]);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2.1));
    }

    [Fact]
    public async Task Quota_counts_in_a_hash_with_its_period_and_refuses_at_the_limit()
    {
        RedisKey[] keys = [_prefix + "quota"];
        RedisValue[] values = [0, 3, 0];

        var answers = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            answers.Add((long)(await EvaluateAsync(keys, values))[0]);
        }

        Assert.Equal([0, 0, 0, 2, 2], answers);
        Assert.Equal(3, (long)await Database.HashGetAsync(keys[0], "c"));
        var ttl = await Database.KeyTimeToLiveAsync(keys[0]);
        Assert.InRange(ttl!.Value, TimeSpan.FromDays(1), TimeSpan.FromDays(2));
    }

    private async Task<RedisResult[]> EvaluateAsync(RedisKey[] keys, RedisValue[] values) =>
        (RedisResult[])(await Database.ScriptEvaluateAsync(RedisThrottleScript.Source, keys, values))!;
}
