using Ingest.Core.Configuration;

namespace Ingest.Core.Throttling;

/// <summary>Where an API key stands in its usage plan's quota for the current period.</summary>
/// <param name="Plan">Usage plan name.</param>
/// <param name="Limit">Requests allowed per period.</param>
/// <param name="Used">Requests counted in the current period.</param>
/// <param name="Period"><c>day</c>, <c>week</c> or <c>month</c> (UTC calendar periods).</param>
/// <param name="ResetsAt">When the next period starts.</param>
/// <param name="Shared">True when read from Redis (all instances); false for this instance's own count.</param>
public sealed record QuotaStatus(string Plan, long Limit, long Used, string Period, DateTimeOffset ResetsAt, bool Shared)
{
    /// <summary>Requests left in the period.</summary>
    public long Remaining => Math.Max(0, Limit - Used);
}

/// <summary>
/// Reads quota counts without counting a request: for the admin API and <c>ingest usage</c>.
/// With <c>redis:</c> the shared count; when Redis cannot answer, this instance's own count
/// (<see cref="QuotaStatus.Shared"/> false).
/// </summary>
public sealed class QuotaUsage
{
    private readonly ThrottleStore _store;

    internal QuotaUsage(ThrottleStore store) => _store = store;

    /// <summary>The quota of <paramref name="apiKeyId"/> in <paramref name="config"/>; null when its plan has no quota or it has no plan.</summary>
    public async ValueTask<QuotaStatus?> GetAsync(IngestConfig config, string apiKeyId)
    {
        var plan = _store.Plans(config).Find(apiKeyId);
        if (plan?.Quota is not { } counter)
        {
            return null;
        }
        var now = _store.Clock.Time.GetUtcNow();
        var (period, end) = QuotaPeriods.Current(plan.Period, now);
        var name = QuotaPeriods.Names[(int)plan.Period];
        if (config.Redis is { } redis)
        {
            try
            {
                var (storedPeriod, count) = await _store.Redis(redis).ReadQuotaAsync(plan.SharedQuotaKey).ConfigureAwait(false);
                var used = storedPeriod == UnixPeriodId(plan.Period, now) ? count : 0;
                return new QuotaStatus(plan.Plan, plan.QuotaLimit, used, name, end, Shared: true);
            }
            catch (Exception)
            {
                // Redis cannot answer: report this instance's own count.
            }
        }
        return new QuotaStatus(plan.Plan, plan.QuotaLimit, counter.Used(period), name, end, Shared: false);
    }

    /// <summary>The period id the Redis script uses: counted from 1970-01-01 (weeks from Monday 1969-12-29).</summary>
    internal static long UnixPeriodId(QuotaPeriod period, DateTimeOffset now)
    {
        var days = (long)Math.Floor(now.ToUnixTimeSeconds() / 86400.0);
        return period switch
        {
            QuotaPeriod.Day => days,
            QuotaPeriod.Week => (long)Math.Floor((days + 3) / 7.0),
            _ => (now.UtcDateTime.Year * 12L) + now.UtcDateTime.Month - 1,
        };
    }
}
