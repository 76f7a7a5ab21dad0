using System.Runtime.CompilerServices;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Ingest.Core.Throttling;

/// <summary>
/// The token buckets and quotas a request must pass: gateway, stage, route (keyed) and the usage
/// plan of its API key. The local check completes synchronously.
/// </summary>
/// <remarks>
/// <para>Order: the gateway bucket, the route bucket, the usage plan's bucket, then its quota. A
/// request passes only when every one has room; when one refuses, the tokens already taken from
/// the others are given back, so a refused request costs no bucket anything.</para>
/// <para>Locally (no <c>redis:</c>, or Redis down with <c>onFailure: local</c>) the check is
/// lock-free, allocation-free and synchronous. With <c>redis:</c> all of it is one Lua script, one
/// round trip (<see cref="RedisThrottleScript"/>).</para>
/// <para>Answers and their headers: see <see cref="ThrottleRejections"/>.</para>
/// </remarks>
public sealed class ThrottlePolicy
{
    private const int MaxBuckets = 4;

    private readonly BucketRule[] _rules;
    private readonly UsagePlanTable? _plans;
    private readonly ThrottleClock? _clock;
    private readonly RedisRateLimiter? _shared;
    private readonly bool _denyOnFailure;

    private ThrottlePolicy(BucketRule[] rules, UsagePlanTable? plans, ThrottleClock? clock, RedisRateLimiter? shared, bool denyOnFailure)
    {
        _rules = rules;
        _plans = plans;
        _clock = clock;
        _shared = shared;
        _denyOnFailure = denyOnFailure;
    }

    /// <summary>No limits: every request passes.</summary>
    public static ThrottlePolicy Unlimited { get; } = new([], null, null, null, false);

    /// <summary>True when there is nothing to check.</summary>
    public bool IsUnlimited => _rules.Length == 0 && _plans is null;

    /// <summary>
    /// The limits of <paramref name="route"/> in <paramref name="config"/>. State comes from the
    /// throttle store registered by <see cref="ThrottlingServiceCollectionExtensions.AddIngestThrottling"/>,
    /// keyed by stable names, so it carries over from the previous deployment.
    /// </summary>
    /// <param name="config">The validated configuration.</param>
    /// <param name="route">The route.</param>
    /// <param name="services">Where the throttle store is registered.</param>
    /// <param name="stage">The stage the route is served in (its bucket, and a route bucket of its own); null without stages.</param>
    public static ThrottlePolicy Compile(IngestConfig config, RouteOptions route, IServiceProvider services, StageOptions? stage = null)
    {
        var plans = config.UsagePlans.Count > 0;
        if (config.Throttle is null && stage?.Throttle is null && route.Throttle is null && !plans)
        {
            return Unlimited;
        }
        var store = services.GetService<ThrottleStore>()
            ?? throw new InvalidOperationException("Throttles are configured but the throttle store is not registered: call services.AddIngestThrottling().");
        var prefix = config.Redis?.KeyPrefix ?? "ingest:";
        var rules = new List<BucketRule>(3);
        if (config.Throttle is { } gateway)
        {
            rules.Add(BucketRule.Create("gateway", gateway, "throttled by the gateway limit", prefix, store));
        }
        if (stage?.Throttle is { } staged)
        {
            rules.Add(BucketRule.Create($"stage:{stage.Name}", staged, $"throttled by stage {stage.Name}", prefix, store));
        }
        if (route.Throttle is { } own)
        {
            // Each stage has its own bucket per route, as API Gateway's per-stage method throttling.
            var name = stage is null ? $"route:{route.Route}" : $"route:{stage.Name}:{route.Route}";
            rules.Add(BucketRule.Create(name, own, $"throttled by route {route.Route}", prefix, store));
        }
        var table = plans ? store.Plans(config) : null;
        var shared = config.Redis is { } redis ? store.Redis(redis) : null;
        return new ThrottlePolicy([.. rules], table is { Count: > 0 } ? table : null, store.Clock, shared, config.Redis?.OnFailure == "deny");
    }

    /// <summary>
    /// Null when a token was taken from every applicable bucket (and the quota counted); else the
    /// 429 (or 503 when the shared store is down and onFailure is deny). Completes synchronously
    /// unless the check goes to Redis.
    /// </summary>
    public ValueTask<Rejection?> AcquireAsync(RequestContext context)
    {
        if (_clock is null || (_rules.Length == 0 && _plans?.Find(context.ApiKeyId) is null))
        {
            // Nothing applies to this request (no limits, or only usage plans and it has none).
            return default;
        }
        if (_shared is { } shared)
        {
            if (shared.TryEnter())
            {
                return AcquireSharedAsync(shared, context);
            }
            return new ValueTask<Rejection?>(_denyOnFailure ? ThrottleRejections.LimiterUnavailable : AcquireLocal(context));
        }
        return new ValueTask<Rejection?>(AcquireLocal(context));
    }

    /// <summary>The local check: lock-free, allocation-free for known clients, synchronous.</summary>
    internal Rejection? AcquireLocal(RequestContext context)
    {
        var clock = _clock!;
        var now = clock.NowNs;
        var taken = default(TakenBuckets);
        var count = 0;
        foreach (var rule in _rules)
        {
            var bucket = Take(rule, context, now, out var result, out var waitNs);
            if (result == TakeResult.Refused)
            {
                RefundAll(ref taken, count, null);
                return rule.Rejections.Get(ThrottleClock.RetryAfterSeconds(waitNs), ThrottleClock.CeilingSeconds(bucket.UntilFullNs(now)));
            }
            taken[count++] = bucket;
        }

        var plan = _plans?.Find(context.ApiKeyId);
        if (plan is null)
        {
            return null;
        }
        var planTaken = false;
        if (plan.Bucket is { } planBucket)
        {
            if (planBucket.TryTake(plan.Spec!, now, out var waitNs) == TakeResult.Refused)
            {
                RefundAll(ref taken, count, null);
                return plan.Rejections!.Get(ThrottleClock.RetryAfterSeconds(waitNs), ThrottleClock.CeilingSeconds(planBucket.UntilFullNs(now)));
            }
            planTaken = true;
        }
        if (plan.Quota is { } quota)
        {
            var wallClock = clock.Time.GetUtcNow();
            var (period, end) = QuotaPeriods.Current(plan.Period, wallClock);
            if (!quota.TryTake(period, plan.QuotaLimit))
            {
                RefundAll(ref taken, count, planTaken ? plan : null);
                return plan.QuotaRejections!.Get(ThrottleClock.RetryAfterSeconds((end - wallClock).Ticks * 100));
            }
        }
        return null;
    }

    private static TokenBucket Take(BucketRule rule, RequestContext context, long now, out TakeResult result, out long waitNs)
    {
        // An idle bucket may be swept away between lookup and take: look it up again (bounded).
        for (var attempt = 0; ; attempt++)
        {
            var bucket = rule.Resolve(context, now);
            result = bucket.TryTake(rule.Spec, now, out waitNs);
            if (result != TakeResult.Evicted || attempt == 3)
            {
                return bucket;
            }
            rule.Forget(context, bucket);
        }
    }

    private void RefundAll(ref TakenBuckets taken, int count, UsagePlanEntry? plan)
    {
        for (var i = 0; i < count; i++)
        {
            taken[i]!.Refund(_rules[i].Spec);
        }
        if (plan is not null)
        {
            plan.Bucket!.Refund(plan.Spec!);
        }
    }

    private async ValueTask<Rejection?> AcquireSharedAsync(RedisRateLimiter shared, RequestContext context)
    {
        var plan = _plans?.Find(context.ApiKeyId);
        var buckets = _rules.Length + (plan?.Bucket is null ? 0 : 1);
        var hasQuota = plan?.Quota is not null;
        if (buckets == 0 && !hasQuota)
        {
            return null;
        }
        var keys = new RedisKey[buckets + (hasQuota ? 1 : 0)];
        var values = new RedisValue[(2 * buckets) + 3];
        values[0] = buckets;
        for (var i = 0; i < _rules.Length; i++)
        {
            keys[i] = _rules[i].SharedKey(context);
            values[(2 * i) + 1] = _rules[i].SharedInterval;
            values[(2 * i) + 2] = _rules[i].SharedTolerance;
        }
        if (plan?.Bucket is not null)
        {
            keys[_rules.Length] = plan.SharedBucketKey;
            values[(2 * _rules.Length) + 1] = plan.SharedInterval;
            values[(2 * _rules.Length) + 2] = plan.SharedTolerance;
        }
        values[(2 * buckets) + 1] = hasQuota ? plan!.QuotaLimit : 0;
        values[(2 * buckets) + 2] = hasQuota ? (int)plan!.Period : 0;
        if (hasQuota)
        {
            keys[buckets] = plan!.SharedQuotaKey;
        }

        SharedVerdict verdict;
        try
        {
            verdict = await shared.EvaluateAsync(keys, values).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            shared.Failed(e);
            return _denyOnFailure ? ThrottleRejections.LimiterUnavailable : AcquireLocal(context);
        }
        shared.Succeeded();

        switch (verdict.Outcome)
        {
            case SharedVerdict.Throttled:
                var index = verdict.Bucket - 1;
                var rejections = index < _rules.Length ? _rules[index].Rejections : plan!.Rejections!;
                return rejections.Get(ThrottleClock.RetryAfterSeconds(verdict.WaitUs * 1000), ThrottleClock.CeilingSeconds(verdict.UntilFullUs * 1000));
            case SharedVerdict.QuotaExceeded:
                return plan!.QuotaRejections!.Get(ThrottleClock.RetryAfterSeconds(verdict.WaitUs * 1000));
            default:
                return null;
        }
    }

    /// <summary>Buckets a request took a token from, to give back on a later refusal.</summary>
    [InlineArray(MaxBuckets)]
    private struct TakenBuckets
    {
        private TokenBucket? _element;
    }
}
