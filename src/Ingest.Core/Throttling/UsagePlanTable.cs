using System.Collections.Frozen;
using Ingest.Core.Configuration;
using StackExchange.Redis;

namespace Ingest.Core.Throttling;

/// <summary>The usage plan of one API key: its own token bucket and quota counter.</summary>
internal sealed class UsagePlanEntry
{
    public required string Plan { get; init; }

    public required string KeyId { get; init; }

    /// <summary>Null when the plan has no throttle.</summary>
    public TokenBucketSpec? Spec { get; init; }

    public TokenBucket? Bucket { get; init; }

    public ThrottledRejectionCache? Rejections { get; init; }

    /// <summary>Null when the plan has no quota.</summary>
    public QuotaCounter? Quota { get; init; }

    public long QuotaLimit { get; init; }

    public QuotaPeriod Period { get; init; }

    public QuotaRejectionCache? QuotaRejections { get; init; }

    public RedisKey SharedBucketKey { get; init; }

    public RedisKey SharedQuotaKey { get; init; }

    public RedisValue SharedInterval { get; init; }

    public RedisValue SharedTolerance { get; init; }
}

/// <summary>API key id to its usage plan, compiled once per deployment; lookups do not allocate.</summary>
internal sealed class UsagePlanTable
{
    private readonly FrozenDictionary<string, UsagePlanEntry> _byKey;

    private UsagePlanTable(FrozenDictionary<string, UsagePlanEntry> byKey) => _byKey = byKey;

    public int Count => _byKey.Count;

    public UsagePlanEntry? Find(string? apiKeyId) =>
        apiKeyId is not null && _byKey.TryGetValue(apiKeyId, out var entry) ? entry : null;

    public static UsagePlanTable Compile(IngestConfig config, ThrottleStore store)
    {
        var prefix = config.Redis?.KeyPrefix ?? "ingest:";
        var entries = new Dictionary<string, UsagePlanEntry>(StringComparer.Ordinal);
        foreach (var plan in config.UsagePlans)
        {
            var spec = plan.Throttle is { } throttle ? new TokenBucketSpec(throttle.Rate, throttle.Burst) : null;
            var period = QuotaPeriods.TryParse(plan.Quota?.Period, out var p) ? p : QuotaPeriod.Day;
            foreach (var key in plan.Keys)
            {
                // A key in two plans is a validation error; the first wins should one slip through.
                entries.TryAdd(key, new UsagePlanEntry
                {
                    Plan = plan.Name,
                    KeyId = key,
                    Spec = spec,
                    Bucket = spec is null ? null : store.Bucket($"plan:{plan.Name}:{key}"),
                    Rejections = spec is null ? null : new ThrottledRejectionCache(spec, $"throttled by usage plan {plan.Name}"),
                    Quota = plan.Quota is null ? null : store.Quota($"quota:{plan.Name}:{key}"),
                    QuotaLimit = plan.Quota?.Limit ?? 0,
                    Period = period,
                    QuotaRejections = plan.Quota is null ? null : new QuotaRejectionCache(plan.Quota.Limit, $"quota of usage plan {plan.Name} used up"),
                    SharedBucketKey = $"{prefix}b:plan:{plan.Name}:{key}",
                    SharedQuotaKey = $"{prefix}q:{plan.Name}:{key}",
                    SharedInterval = spec?.IntervalUs ?? 0,
                    SharedTolerance = spec?.ToleranceUs ?? 0,
                });
            }
        }
        return new UsagePlanTable(entries.ToFrozenDictionary(StringComparer.Ordinal));
    }
}
