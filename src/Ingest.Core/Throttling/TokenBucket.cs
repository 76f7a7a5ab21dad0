namespace Ingest.Core.Throttling;

/// <summary>
/// Rate and size of a token bucket in the units the arithmetic uses: nanoseconds per token
/// (the emission interval) and the tolerance, how far ahead of now the bucket may be booked.
/// </summary>
/// <remarks>
/// The bucket is kept as a generic cell rate algorithm (GCRA): its whole state is one number, the
/// theoretical arrival time (TAT) of the next token. A bucket with TAT at or before now is full
/// (<see cref="Burst"/> tokens); every token taken pushes TAT one <see cref="IntervalNs"/> ahead;
/// a request is allowed while TAT − now stays within <see cref="ToleranceNs"/> =
/// (burst − 1) × interval. This is exactly a token bucket with rate 1/interval and size burst,
/// and its one-number state can be updated with a single compare-and-swap.
/// </remarks>
internal sealed class TokenBucketSpec
{
    /// <summary>Longest time a bucket may take to refill from empty (about three years): keeps the arithmetic far from overflow.</summary>
    private const long MaxToleranceNs = 100_000_000_000_000_000;

    public TokenBucketSpec(double rate, double burst)
    {
        Rate = rate;
        Burst = Math.Max(1, (long)burst);
        IntervalNs = Math.Max(1, (long)Math.Round(1e9 / rate));
        ToleranceNs = (long)Math.Min((double)(Burst - 1) * IntervalNs, MaxToleranceNs);
        IntervalUs = Math.Max(1, (long)Math.Round(1e6 / rate));
        ToleranceUs = (long)Math.Min((double)(Burst - 1) * IntervalUs, MaxToleranceNs / 1000);
        LimitHeader = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Tokens per second.</summary>
    public double Rate { get; }

    /// <summary>Bucket size in whole tokens.</summary>
    public long Burst { get; }

    /// <summary>Nanoseconds per token.</summary>
    public long IntervalNs { get; }

    /// <summary>(burst − 1) tokens' worth of nanoseconds.</summary>
    public long ToleranceNs { get; }

    /// <summary>Microseconds per token, for the Redis script (Lua numbers are doubles: µs since 1970 stay exact).</summary>
    public long IntervalUs { get; }

    /// <summary>Tolerance in microseconds, for the Redis script.</summary>
    public long ToleranceUs { get; }

    /// <summary>The value of X-RateLimit-Limit: the bucket size.</summary>
    public string LimitHeader { get; }
}

/// <summary>What <see cref="TokenBucket.TryTake"/> found.</summary>
internal enum TakeResult
{
    /// <summary>A token was taken.</summary>
    Taken,

    /// <summary>No token: the bucket is empty.</summary>
    Refused,

    /// <summary>The bucket was evicted from its table while being looked up: look it up again.</summary>
    Evicted,
}

/// <summary>
/// One token bucket's state: the theoretical arrival time in nanoseconds of the throttle clock
/// (see <see cref="TokenBucketSpec"/>). Lock-free: every change is one compare-and-swap on a long.
/// </summary>
internal sealed class TokenBucket
{
    /// <summary>Marks a bucket removed from a <see cref="ClientBucketTable{TKey}"/>; nobody may take from it.</summary>
    internal const long Evicted = long.MinValue;

    private long _tat;

    /// <summary>The theoretical arrival time; <see cref="Evicted"/> once removed from a table.</summary>
    public long Tat => Volatile.Read(ref _tat);

    /// <summary>Takes one token at <paramref name="now"/>; when refused, <paramref name="waitNs"/> is the time until one frees.</summary>
    public TakeResult TryTake(TokenBucketSpec spec, long now, out long waitNs)
    {
        while (true)
        {
            var tat = Volatile.Read(ref _tat);
            if (tat == Evicted)
            {
                waitNs = 0;
                return TakeResult.Evicted;
            }
            var basis = Math.Max(tat, now);
            if (basis - now > spec.ToleranceNs)
            {
                waitNs = basis - spec.ToleranceNs - now;
                return TakeResult.Refused;
            }
            if (Interlocked.CompareExchange(ref _tat, basis + spec.IntervalNs, tat) == tat)
            {
                waitNs = 0;
                return TakeResult.Taken;
            }
        }
    }

    /// <summary>Gives back a token taken by <see cref="TryTake"/> (a later check refused the request).</summary>
    public void Refund(TokenBucketSpec spec)
    {
        while (true)
        {
            var tat = Volatile.Read(ref _tat);
            // An evicted bucket was full already: nothing to give back.
            if (tat == Evicted || Interlocked.CompareExchange(ref _tat, tat - spec.IntervalNs, tat) == tat)
            {
                return;
            }
        }
    }

    /// <summary>Whole tokens left at <paramref name="now"/>.</summary>
    public long Remaining(TokenBucketSpec spec, long now)
    {
        var tat = Tat;
        if (tat == Evicted || tat <= now)
        {
            return spec.Burst;
        }
        var free = now + spec.ToleranceNs + spec.IntervalNs - tat;
        return free <= 0 ? 0 : Math.Min(spec.Burst, free / spec.IntervalNs);
    }

    /// <summary>Nanoseconds until the bucket is full again (0 when full).</summary>
    public long UntilFullNs(long now)
    {
        var tat = Tat;
        return tat == Evicted || tat <= now ? 0 : tat - now;
    }

    /// <summary>Marks the bucket evicted if it is full (idle) at <paramref name="now"/>: a full bucket carries no information.</summary>
    public bool TryEvictIfFull(long now)
    {
        var tat = Volatile.Read(ref _tat);
        return tat != Evicted && tat <= now && Interlocked.CompareExchange(ref _tat, Evicted, tat) == tat;
    }
}
