using Ingest.Core.Events;

namespace Ingest.Core.Pipeline;

/// <summary>What happened to one entry of a batch.</summary>
public enum EntryOutcome : byte
{
    /// <summary>The backend stored it.</summary>
    Delivered,

    /// <summary>A transient failure (throttled, internal error): send it again later.</summary>
    Retry,

    /// <summary>The backend refused it for good (sender fault): dead-letter it now.</summary>
    Rejected,
}

/// <summary>Service limits of one batch call.</summary>
/// <param name="MaxRecords">Entries per call.</param>
/// <param name="MaxBatchBytes">Bytes per call, counted with <see cref="IBatchSender.MeasureWireBytes"/>.</param>
/// <param name="MaxRecordBytes">Bytes per entry.</param>
public readonly record struct BatchLimits(int MaxRecords, long MaxBatchBytes, long MaxRecordBytes);

/// <summary>
/// The part of a target that speaks the backend's protocol. Batching, bounded in-flight calls,
/// retries and dead letters live in <see cref="BatchingWriter"/>; a sender only sends.
/// </summary>
public interface IBatchSender
{
    /// <summary>The service's batch limits.</summary>
    BatchLimits Limits { get; }

    /// <summary>Bytes the event takes on the wire, counted toward the batch and record limits.</summary>
    int MeasureWireBytes(IngestEvent e);

    /// <summary>
    /// Sends one batch and fills one outcome per entry. Throws only for a transient failure of
    /// the whole call (network, throttling, 5xx): every entry is then retried.
    /// </summary>
    Task SendAsync(IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, CancellationToken cancellationToken);
}
