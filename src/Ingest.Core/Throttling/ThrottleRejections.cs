using System.Collections.Concurrent;
using System.Globalization;
using Ingest.Core.Requests;

namespace Ingest.Core.Throttling;

/// <summary>
/// The answers of the throttle step and their headers.
/// </summary>
/// <remarks>
/// <para>429 <c>Too Many Requests</c> (a token bucket is empty) carries:</para>
/// <list type="bullet">
/// <item><c>Retry-After</c>: whole seconds until the refusing bucket has a token again, rounded
/// up, at least 1. A client that waits this long and retries is not refused by that bucket.</item>
/// <item><c>X-RateLimit-Limit</c>: the size (<c>burst</c>) of the refusing bucket, the most
/// requests it lets through at once.</item>
/// <item><c>X-RateLimit-Remaining</c>: whole tokens left in that bucket now; 0 on a refusal.</item>
/// <item><c>X-RateLimit-Reset</c>: whole seconds, rounded up, until that bucket is full again
/// (holds <c>burst</c> tokens), as a delta from now, not a date.</item>
/// </list>
/// <para>The refusing bucket is the first one that is empty, in the order gateway, route, usage plan.</para>
/// <para>429 <c>Limit Exceeded</c> (the usage plan's quota is used up for the period) carries
/// <c>Retry-After</c>: whole seconds until the next calendar period starts (UTC), rounded up;
/// <c>X-Quota-Limit</c>: the quota's limit; <c>X-Quota-Remaining</c>: 0.</para>
/// <para>503 <c>Service Unavailable</c> with <c>Retry-After: 1</c> when the shared limiter (Redis)
/// cannot answer and <c>redis.onFailure</c> is <c>deny</c>.</para>
/// </remarks>
internal static class ThrottleRejections
{
    public const string TooManyRequests = "Too Many Requests";
    public const string LimitExceeded = "Limit Exceeded";

    /// <summary>503 of an unavailable shared limiter with <c>onFailure: deny</c>.</summary>
    public static readonly Rejection LimiterUnavailable = Rejection.ServiceUnavailable.WithReason("shared rate limiter unavailable (redis.onFailure: deny)");

    public static Rejection Throttled(long retryAfterSeconds, string limit, long resetSeconds, string reason) =>
        new(429, TooManyRequests,
        [
            new("Retry-After", Text(retryAfterSeconds)),
            new("X-RateLimit-Limit", limit),
            new("X-RateLimit-Remaining", "0"),
            new("X-RateLimit-Reset", Text(resetSeconds)),
        ], reason);

    public static Rejection QuotaExceeded(long retryAfterSeconds, string limit, string reason) =>
        new(429, LimitExceeded,
        [
            new("Retry-After", Text(retryAfterSeconds)),
            new("X-Quota-Limit", limit),
            new("X-Quota-Remaining", "0"),
        ], reason);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// The 429s of one bucket rule, made once per distinct (Retry-After, Reset) pair and reused, so
/// that a flood of refused requests does not build a response per request.
/// </summary>
internal sealed class ThrottledRejectionCache(TokenBucketSpec spec, string reason)
{
    private const int MaxEntries = 1024;
    private readonly ConcurrentDictionary<long, Rejection> _cache = new();
    private int _count;

    public TokenBucketSpec Spec { get; } = spec;

    public Rejection Get(long retryAfterSeconds, long resetSeconds)
    {
        var key = (Math.Min(retryAfterSeconds, int.MaxValue) << 32) | Math.Min(resetSeconds, uint.MaxValue);
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }
        var rejection = ThrottleRejections.Throttled(retryAfterSeconds, Spec.LimitHeader, resetSeconds, reason);
        if (Volatile.Read(ref _count) < MaxEntries && _cache.TryAdd(key, rejection))
        {
            Interlocked.Increment(ref _count);
        }
        return rejection;
    }
}

/// <summary>The quota 429 of one usage plan, reused while Retry-After stays the same.</summary>
internal sealed class QuotaRejectionCache(long limit, string reason)
{
    private readonly string _limit = limit.ToString(CultureInfo.InvariantCulture);
    private Entry? _last;

    public Rejection Get(long retryAfterSeconds)
    {
        var last = Volatile.Read(ref _last);
        if (last is not null && last.RetryAfter == retryAfterSeconds)
        {
            return last.Rejection;
        }
        var rejection = ThrottleRejections.QuotaExceeded(retryAfterSeconds, _limit, reason);
        Volatile.Write(ref _last, new Entry(retryAfterSeconds, rejection));
        return rejection;
    }

    private sealed record Entry(long RetryAfter, Rejection Rejection);
}
