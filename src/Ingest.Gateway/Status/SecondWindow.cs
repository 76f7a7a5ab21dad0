using System.Numerics;

namespace Ingest.Gateway.Status;

/// <summary>What a <see cref="SecondWindow"/> saw over its last minute.</summary>
/// <param name="Count">Observations.</param>
/// <param name="Errors4xx">Observations with a 4xx status.</param>
/// <param name="Errors5xx">Observations with a 5xx status.</param>
/// <param name="LastSecond">Observations in the last complete second.</param>
/// <param name="P50Ms">Median latency in milliseconds (bucket midpoint, about ±12%); null without observations.</param>
/// <param name="P95Ms">95th percentile in milliseconds.</param>
/// <param name="P99Ms">99th percentile in milliseconds.</param>
internal readonly record struct WindowSummary(long Count, long Errors4xx, long Errors5xx, long LastSecond, double? P50Ms, double? P95Ms, double? P99Ms);

/// <summary>
/// A ring of 60 one-second buckets: counts, 4xx/5xx counts and a log-linear latency histogram
/// (4 buckets per power of two of microseconds). Recording is a few interlocked increments; the
/// bucket of a new second is cleared by the first writer that reaches it. Summaries merge the
/// buckets of the last 60 seconds, so percentiles cover the last minute.
/// </summary>
internal sealed class SecondWindow
{
    public const int Seconds = 60;

    // log2(µs) up to 2^41 µs (~25 days) × 4 sub-buckets.
    private const int Bins = 42 * 4;

    private readonly Slot[] _slots = new Slot[Seconds];

    public SecondWindow()
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }
    }

    /// <param name="second">Current whole second of a monotonic clock.</param>
    /// <param name="status">HTTP status, or 0 for observations without one (delivery lag).</param>
    /// <param name="latency">Latency or lag.</param>
    public void Record(long second, int status, TimeSpan latency)
    {
        var slot = _slots[(int)(second % Seconds)];
        if (Volatile.Read(ref slot.Second) != second)
        {
            lock (slot)
            {
                if (slot.Second != second)
                {
                    slot.Reset();
                    Volatile.Write(ref slot.Second, second);
                }
            }
        }
        Interlocked.Increment(ref slot.Count);
        if (status >= 500)
        {
            Interlocked.Increment(ref slot.Errors5xx);
        }
        else if (status >= 400)
        {
            Interlocked.Increment(ref slot.Errors4xx);
        }
        Interlocked.Increment(ref slot.Histogram[Bin((long)(latency.Ticks / 10.0))]);
    }

    /// <summary>Merges the buckets of the 60 seconds up to and including <paramref name="second"/>.</summary>
    public WindowSummary Summarize(long second)
    {
        long count = 0, errors4xx = 0, errors5xx = 0, lastSecond = 0;
        var merged = new long[Bins];
        foreach (var slot in _slots)
        {
            var at = Volatile.Read(ref slot.Second);
            if (at > second || at <= second - Seconds)
            {
                continue;
            }
            var slotCount = Volatile.Read(ref slot.Count);
            count += slotCount;
            errors4xx += Volatile.Read(ref slot.Errors4xx);
            errors5xx += Volatile.Read(ref slot.Errors5xx);
            if (at == second - 1)
            {
                lastSecond = slotCount;
            }
            for (var i = 0; i < Bins; i++)
            {
                merged[i] += Volatile.Read(ref slot.Histogram[i]);
            }
        }
        var total = merged.Sum();
        return new WindowSummary(count, errors4xx, errors5xx, lastSecond,
            Percentile(merged, total, 0.50), Percentile(merged, total, 0.95), Percentile(merged, total, 0.99));
    }

    /// <summary>Bucket of a value in microseconds: exact below 4 µs, then 4 per power of two.</summary>
    internal static int Bin(long micros)
    {
        if (micros < 4)
        {
            return (int)Math.Max(micros, 0);
        }
        var exponent = BitOperations.Log2((ulong)micros);
        var sub = (int)(micros >> (exponent - 2)) & 3;
        return Math.Min((exponent * 4) + sub - 4, Bins - 1);
    }

    /// <summary>Midpoint of a bucket, in milliseconds.</summary>
    internal static double Midpoint(int bin)
    {
        if (bin < 4)
        {
            return bin / 1000.0;
        }
        var exponent = (bin + 4) / 4;
        var sub = (bin + 4) % 4;
        var low = (4L + sub) << (exponent - 2);
        var width = 1L << (exponent - 2);
        return (low + (width / 2.0)) / 1000.0;
    }

    private static double? Percentile(long[] bins, long total, double p)
    {
        if (total == 0)
        {
            return null;
        }
        var rank = (long)Math.Ceiling(p * total);
        long seen = 0;
        for (var i = 0; i < bins.Length; i++)
        {
            seen += bins[i];
            if (seen >= rank)
            {
                return Math.Round(Midpoint(i), 3);
            }
        }
        return Math.Round(Midpoint(bins.Length - 1), 3);
    }

    private sealed class Slot
    {
        public long Second = long.MinValue;
        public long Count;
        public long Errors4xx;
        public long Errors5xx;
        public readonly long[] Histogram = new long[Bins];

        public void Reset()
        {
            Count = 0;
            Errors4xx = 0;
            Errors5xx = 0;
            Array.Clear(Histogram);
        }
    }
}
