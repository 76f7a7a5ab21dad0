namespace Ingest.Core.Throttling;

/// <summary>Calendar period of a usage-plan quota, in UTC.</summary>
internal enum QuotaPeriod
{
    /// <summary>From 00:00 UTC to the next midnight.</summary>
    Day,

    /// <summary>Monday 00:00 UTC to the next Monday (ISO 8601 weeks).</summary>
    Week,

    /// <summary>The 1st 00:00 UTC to the 1st of the next month.</summary>
    Month,
}

internal static class QuotaPeriods
{
    public static readonly string[] Names = ["day", "week", "month"];

    public static bool TryParse(string? text, out QuotaPeriod period)
    {
        var index = Array.IndexOf(Names, text);
        period = (QuotaPeriod)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>
    /// The period <paramref name="now"/> falls in, as a number that grows by one per period, and the
    /// moment the next one starts. Day 0 of <see cref="DateTime"/> (0001-01-01) was a Monday, so
    /// whole weeks since then start on Mondays.
    /// </summary>
    public static (long Id, DateTimeOffset End) Current(QuotaPeriod period, DateTimeOffset now)
    {
        var day = now.UtcTicks / TimeSpan.TicksPerDay;
        switch (period)
        {
            case QuotaPeriod.Day:
                return (day, new DateTimeOffset((day + 1) * TimeSpan.TicksPerDay, TimeSpan.Zero));
            case QuotaPeriod.Week:
                var week = day / 7;
                return (week, new DateTimeOffset((week + 1) * 7 * TimeSpan.TicksPerDay, TimeSpan.Zero));
            default:
                var utc = now.UtcDateTime;
                var start = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
                return ((utc.Year * 12L) + utc.Month - 1, start.AddMonths(1));
        }
    }
}

/// <summary>
/// Requests counted in the current quota period for one API key, lock-free: the period id and
/// the count are packed into one long (id in the high 24 bits, count in the low 40).
/// </summary>
internal sealed class QuotaCounter
{
    /// <summary>Largest quota limit the packing can count.</summary>
    public const long MaxLimit = (1L << CountBits) - 1;

    private const int CountBits = 40;
    private const long CountMask = MaxLimit;
    private const long PeriodMask = (1L << 23) - 1;

    private long _state;

    /// <summary>Counts one request in period <paramref name="periodId"/> unless <paramref name="limit"/> are counted already.</summary>
    public bool TryTake(long periodId, long limit)
    {
        var period = periodId & PeriodMask;
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var count = (state >> CountBits) == period ? state & CountMask : 0;
            if (count >= limit)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _state, (period << CountBits) | (count + 1), state) == state)
            {
                return true;
            }
        }
    }

    /// <summary>Takes back a request counted by <see cref="TryTake"/> in the same period.</summary>
    public void Refund(long periodId)
    {
        var period = periodId & PeriodMask;
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if ((state >> CountBits) != period || (state & CountMask) == 0
                || Interlocked.CompareExchange(ref _state, state - 1, state) == state)
            {
                return;
            }
        }
    }

    /// <summary>Requests counted in period <paramref name="periodId"/>.</summary>
    public long Used(long periodId)
    {
        var state = Volatile.Read(ref _state);
        return (state >> CountBits) == (periodId & PeriodMask) ? state & CountMask : 0;
    }
}
