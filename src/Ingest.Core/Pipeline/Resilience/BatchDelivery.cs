using Ingest.Core.Events;

namespace Ingest.Core.Pipeline.Resilience;

/// <summary>
/// The entries of one batch that still have to be delivered, carried through the attempts of one
/// send. Each attempt replaces <see cref="Pending"/> with the entries to send again.
/// </summary>
internal sealed class BatchDelivery(List<IngestEvent> pending)
{
    /// <summary>Entries not yet delivered or dead-lettered.</summary>
    public List<IngestEvent> Pending { get; set; } = pending;

    /// <summary>
    /// The last attempt failed because of the backend rather than single entries: the call threw
    /// (network, timeout, 5xx, throttling) or nothing was delivered. Counted by the circuit breaker.
    /// </summary>
    public bool BackendFailed { get; set; }
}
