using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Ingest.Core.Diagnostics;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Status;

namespace Ingest.Gateway.Admin;

/// <summary>Delivery counters and health of one target as the admin API reports them.</summary>
/// <param name="Delivered">Events the backend confirmed since start.</param>
/// <param name="DeadLettered">Events sent to the dead-letter target or spill file since start.</param>
/// <param name="Retried">Entries sent again after a transient failure since start.</param>
/// <param name="ConsecutiveFailures">Transient send failures since the last confirmed delivery.</param>
/// <param name="LastDelivery">Time of the last confirmed delivery; null before the first.</param>
/// <param name="LastFailure">Time of the last transient failure; null before the first.</param>
internal readonly record struct TargetHealth(long Delivered, long DeadLettered, long Retried, long ConsecutiveFailures, DateTimeOffset? LastDelivery, DateTimeOffset? LastFailure)
{
    /// <summary>Consecutive failures (without a delivery in between) from which a target counts as unreachable.</summary>
    public const int UnreachableAfter = 3;

    /// <summary>False once <see cref="UnreachableAfter"/> sends in a row failed.</summary>
    public bool Reachable => ConsecutiveFailures < UnreachableAfter;
}

/// <summary>
/// Follows the gateway's own delivery instruments (delivered, dead-lettered, retried, delivery
/// lag; tagged by target) with a <see cref="MeterListener"/>, so the admin API, readiness and the
/// status page read delivery state without a network call and without hooks in the batching
/// writers. Only this gateway's <see cref="IngestMetrics"/> instance is followed.
/// </summary>
/// <remarks>
/// A target is unreachable after <see cref="TargetHealth.UnreachableAfter"/> retry signals with no
/// confirmed delivery in between: a whole-batch failure (network, 5xx, throttling) retries every
/// entry at once, and any delivery resets the streak.
/// </remarks>
internal sealed class TargetObserver : IDisposable
{
    private readonly IngestMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, TargetState> _targets = new(StringComparer.Ordinal);

    public TargetObserver(IngestMetrics metrics, GatewayOptions options)
    {
        _metrics = metrics;
        _time = options.TimeProvider;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, _metrics.EventsDelivered)
                || ReferenceEquals(instrument, _metrics.EventsDeadLettered)
                || ReferenceEquals(instrument, _metrics.EventsRetried)
                || ReferenceEquals(instrument, _metrics.DeliveryLag))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnCount);
        _listener.SetMeasurementEventCallback<double>(OnLag);
        _listener.Start();
    }

    /// <summary>Current second of the clock the windows use.</summary>
    public long Second => _time.GetTimestamp() / _time.TimestampFrequency;

    public TargetHealth Health(string target)
    {
        if (!_targets.TryGetValue(target, out var state))
        {
            return default;
        }
        return new TargetHealth(
            Interlocked.Read(ref state.Delivered),
            Interlocked.Read(ref state.DeadLettered),
            Interlocked.Read(ref state.Retried),
            Interlocked.Read(ref state.FailureStreak),
            Time(Volatile.Read(ref state.LastDelivery)),
            Time(Volatile.Read(ref state.LastFailure)));
    }

    /// <summary>Deliveries and delivery lag (p50/p95/p99) of the last minute.</summary>
    public WindowSummary Lag(string target) =>
        _targets.TryGetValue(target, out var state) ? state.Lag.Summarize(Second) : default;

    // Timestamps are kept as the cheap monotonic clock and turned into wall time when read.
    private DateTimeOffset? Time(long timestamp) =>
        timestamp == 0 ? null : _time.GetUtcNow() - _time.GetElapsedTime(timestamp);

    private void OnCount(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (value == 0 || Target(tags) is not { } name)
        {
            // Zeros are the start-up priming of the series, not events.
            return;
        }
        var target = _targets.GetOrAdd(name, static _ => new TargetState());
        if (ReferenceEquals(instrument, _metrics.EventsDelivered))
        {
            // Called per delivered event (the blackhole delivers on the request thread): keep it cheap.
            Interlocked.Add(ref target.Delivered, value);
            if (Volatile.Read(ref target.FailureStreak) != 0)
            {
                Interlocked.Exchange(ref target.FailureStreak, 0);
            }
            Volatile.Write(ref target.LastDelivery, _time.GetTimestamp());
        }
        else if (ReferenceEquals(instrument, _metrics.EventsRetried))
        {
            Interlocked.Add(ref target.Retried, value);
            Interlocked.Increment(ref target.FailureStreak);
            Volatile.Write(ref target.LastFailure, _time.GetTimestamp());
        }
        else
        {
            Interlocked.Add(ref target.DeadLettered, value);
        }
    }

    private void OnLag(Instrument instrument, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (Target(tags) is { } name)
        {
            _targets.GetOrAdd(name, static _ => new TargetState()).Lag.Record(Second, 0, TimeSpan.FromSeconds(Math.Max(seconds, 0)));
        }
    }

    private static string? Target(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var (key, value) in tags)
        {
            if (key == "target")
            {
                return value as string;
            }
        }
        return null;
    }

    public void Dispose() => _listener.Dispose();

    private sealed class TargetState
    {
        public long Delivered;
        public long DeadLettered;
        public long Retried;
        public long FailureStreak;
        public long LastDelivery;
        public long LastFailure;
        public readonly SecondWindow Lag = new();
    }
}
