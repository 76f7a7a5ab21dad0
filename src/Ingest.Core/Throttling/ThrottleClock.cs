namespace Ingest.Core.Throttling;

/// <summary>
/// Monotonic nanoseconds since the clock was made, from <see cref="TimeProvider.GetTimestamp"/>
/// (so tests drive it with FakeTimeProvider). Starts at 0 so that a new bucket (TAT 0) is full.
/// </summary>
internal sealed class ThrottleClock(TimeProvider time)
{
    private const long NanosPerSecond = 1_000_000_000;
    private readonly long _origin = time.GetTimestamp();
    private readonly long _frequency = time.TimestampFrequency;

    public TimeProvider Time { get; } = time;

    /// <summary>Nanoseconds since this clock was made.</summary>
    public long NowNs
    {
        get
        {
            var elapsed = Time.GetTimestamp() - _origin;
            if (_frequency == NanosPerSecond)
            {
                return elapsed;
            }
            // Whole seconds and the rest apart, so that no product overflows.
            return (elapsed / _frequency * NanosPerSecond) + (elapsed % _frequency * NanosPerSecond / _frequency);
        }
    }

    /// <summary>Whole seconds in <paramref name="ns"/>, rounded up, at least 1: the value of Retry-After.</summary>
    public static long RetryAfterSeconds(long ns) => Math.Max(1, CeilingSeconds(ns));

    /// <summary>Whole seconds in <paramref name="ns"/>, rounded up.</summary>
    public static long CeilingSeconds(long ns) => ns <= 0 ? 0 : ((ns - 1) / NanosPerSecond) + 1;
}
