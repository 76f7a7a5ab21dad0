using System.Diagnostics.Metrics;

namespace Ingest.Core.Diagnostics;

/// <summary>
/// The gateway's instruments. Names follow DESIGN.md once exported for Prometheus: counters get
/// <c>_total</c> and histograms in seconds get <c>_seconds</c> appended by the exporter.
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "Ingest";

    private readonly Meter _meter;

    public IngestMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        Requests = _meter.CreateCounter<long>("ingest_requests", description: "Requests by route, stage and status class.");
        RequestLatency = _meter.CreateHistogram<double>("ingest_request_latency", "s", "Time from request start to response.");
        IntegrationLatency = _meter.CreateHistogram<double>("ingest_integration_latency", "s", "Time spent in backend calls.");
        EventsAccepted = _meter.CreateCounter<long>("ingest_events_accepted", description: "Events acknowledged to clients.");
        EventsDelivered = _meter.CreateCounter<long>("ingest_events_delivered", description: "Events the backend confirmed.");
        EventsRetried = _meter.CreateCounter<long>("ingest_events_retried", description: "Entries sent again after a transient failure.");
        EventsDeadLettered = _meter.CreateCounter<long>("ingest_events_dead_lettered", description: "Events sent to the dead-letter target or spill file.");
        EventsDropped = _meter.CreateCounter<long>("ingest_events_dropped", description: "Events refused before queueing, by reason.");
        BatchSize = _meter.CreateHistogram<int>("ingest_batch_size", description: "Entries per backend call.");
        DeliveryLag = _meter.CreateHistogram<double>("ingest_delivery_lag", "s", "Time from receipt to backend confirmation.");
        AccessLogDropped = _meter.CreateCounter<long>("ingest_access_log_dropped", description: "Access-log lines dropped because the sink was slow.");
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

    /// <summary>Registers an observable gauge (channel depth, WAL bytes) on the same meter.</summary>
    public void ObserveGauge(string name, Func<IEnumerable<Measurement<long>>> observe, string? description = null) =>
        _meter.CreateObservableGauge(name, observe, description: description);

    public void Dispose() => _meter.Dispose();
}
