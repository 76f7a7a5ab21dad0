using System.Diagnostics.Metrics;

namespace Ingest.Core.Diagnostics;

/// <summary>
/// The gateway's instruments. Names follow DESIGN.md once exported for Prometheus: counters get
/// <c>_total</c> and histograms in seconds get <c>_seconds</c> appended by the exporter.
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Ingest";

    // Bucket bounds in seconds. The SDK's defaults (0, 5, 10, 25 ... 10000) suit milliseconds: in
    // seconds every request would land in the first bucket and quantiles would be meaningless.
    private static readonly InstrumentAdvice<double> LatencyBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };

    private static readonly InstrumentAdvice<double> LagBuckets = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    };

    private static readonly InstrumentAdvice<int> BatchSizeBuckets = new()
    {
        HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500],
    };

    private readonly Meter _meter;
    private readonly Dictionary<string, GaugeSource> _gauges = new(StringComparer.Ordinal);

    public IngestMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        Requests = _meter.CreateCounter<long>("ingest_requests", description: "Requests by route, stage and status class.");
        RequestLatency = _meter.CreateHistogram<double>("ingest_request_latency", "s", "Time from request start to response.", advice: LatencyBuckets);
        IntegrationLatency = _meter.CreateHistogram<double>("ingest_integration_latency", "s", "Time spent in backend calls.", advice: LatencyBuckets);
        EventsAccepted = _meter.CreateCounter<long>("ingest_events_accepted", description: "Events acknowledged to clients.");
        EventsDelivered = _meter.CreateCounter<long>("ingest_events_delivered", description: "Events the backend confirmed.");
        EventsRetried = _meter.CreateCounter<long>("ingest_events_retried", description: "Entries sent again after a transient failure.");
        EventsDeadLettered = _meter.CreateCounter<long>("ingest_events_dead_lettered", description: "Events sent to the dead-letter target or spill file.");
        EventsDropped = _meter.CreateCounter<long>("ingest_events_dropped", description: "Events refused before queueing, by reason.");
        BatchSize = _meter.CreateHistogram<int>("ingest_batch_size", description: "Entries per backend call.", advice: BatchSizeBuckets);
        DeliveryLag = _meter.CreateHistogram<double>("ingest_delivery_lag", "s", "Time from receipt to backend confirmation.", advice: LagBuckets);
        AccessLogDropped = _meter.CreateCounter<long>("ingest_access_log_dropped", description: "Access-log lines dropped because the sink was slow.");
        LimiterErrors = _meter.CreateCounter<long>("ingest_limiter_errors", description: "Throttle checks the shared limiter (Redis) could not answer, by reason.");
        WalFsyncs = _meter.CreateCounter<long>("ingest_wal_fsyncs", description: "fsync calls of the write-ahead log (one per group commit).");
        WalCorruptRecords = _meter.CreateCounter<long>("ingest_wal_corrupt_records", description: "Torn or damaged write-ahead log records skipped at start (the rest of their segment is unreadable).");
        CacheHits = _meter.CreateCounter<long>("ingest_cache_hits", description: "Answers served from a cache (authorizer results, responses).");
        CacheMisses = _meter.CreateCounter<long>("ingest_cache_misses", description: "Cache lookups that had to ask the source.");
        FirewallMatches = _meter.CreateCounter<long>("ingest_firewall_matches", description: "Requests a firewall rule acted on, by rule and action (block, count, rateBlock).");
        // Registered up front so the name is always exported (0 until the WAL registers its own source).
        ObserveGauge("ingest_wal_bytes", static () => [new Measurement<long>(0)], "Bytes held in the write-ahead log.");
    }

    public Counter<long> Requests { get; }
    public Histogram<double> RequestLatency { get; }
    public Histogram<double> IntegrationLatency { get; }
    public Counter<long> EventsAccepted { get; }
    public Counter<long> EventsDelivered { get; }
    public Counter<long> EventsRetried { get; }
    public Counter<long> EventsDeadLettered { get; }
    public Counter<long> EventsDropped { get; }
    public Histogram<int> BatchSize { get; }
    public Histogram<double> DeliveryLag { get; }
    public Counter<long> AccessLogDropped { get; }
    public Counter<long> LimiterErrors { get; }
    public Counter<long> WalFsyncs { get; }
    public Counter<long> WalCorruptRecords { get; }
    public Counter<long> CacheHits { get; }
    public Counter<long> CacheMisses { get; }
    public Counter<long> FirewallMatches { get; }

    /// <summary>The meter, for instruments a target kind adds (exported like the ones above).</summary>
    public Meter Meter => _meter;

    /// <summary>
    /// Registers an observable gauge (channel depth, WAL bytes) on the same meter. Registering a
    /// name again replaces its source instead of creating a second instrument of the same name
    /// (which would export a duplicate metric family).
    /// </summary>
    public void ObserveGauge(string name, Func<IEnumerable<Measurement<long>>> observe, string? description = null)
    {
        lock (_gauges)
        {
            if (_gauges.TryGetValue(name, out var source))
            {
                source.Observe = observe;
                return;
            }
            source = new GaugeSource { Observe = observe };
            _gauges.Add(name, source);
            _meter.CreateObservableGauge(name, () => source.Observe(), description: description);
        }
    }

    public void Dispose() => _meter.Dispose();

    private sealed class GaugeSource
    {
        public volatile Func<IEnumerable<Measurement<long>>> Observe = static () => [];
    }
}
