using System.Runtime.CompilerServices;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Kinesis;

/// <summary>
/// Sends batches to one Kinesis stream with PutRecords. Each event becomes one record (see
/// <see cref="KinesisRecordEncoder"/>), built once when the writer measures it and reused on retries.
/// A record with <c>ErrorCode</c> is retried unless the code is a sender fault; throttling, 5xx and
/// network failures of the whole call throw (the writer retries the batch); any other refusal of
/// the whole call rejects every entry.
/// </summary>
public sealed partial class KinesisBatchSender : IBatchSender, IDisposable
{
    /// <summary>PutRecords: records per call.</summary>
    public const int MaxRecordsPerCall = 500;

    /// <summary>PutRecords: bytes per call (data plus partition keys), 5 MiB.</summary>
    public const long MaxBytesPerCall = 5L * 1024 * 1024;

    /// <summary>Default record limit (data plus partition key), 1 MiB.</summary>
    public const long DefaultMaxRecordBytes = 1024 * 1024;

    /// <summary>Smallest <c>maxRecordBytes</c> accepted, 1 KiB.</summary>
    public const long MinMaxRecordBytes = 1024;

    /// <summary>Largest <c>maxRecordBytes</c> accepted, 10 MiB (streams can raise their record limit to it).</summary>
    public const long MaxMaxRecordBytes = 10L * 1024 * 1024;

    // Cached delegate: tells the client which failed record to describe in the result (for the log).
    private static readonly Func<string, bool> IsSenderFaultCode = IsSenderFault;

    private readonly KinesisClient _client;
    private readonly KinesisRecordEncoder _encoder;
    private readonly ILogger _logger;

    // The envelope is built when the writer measures the event and is needed again at send time
    // (and on every retry). A weak table keeps it without a field on IngestEvent and lets it go
    // with the event; one per sender, since another target encodes the same event differently.
    private readonly ConditionalWeakTable<IngestEvent, KinesisRecord> _records = new();

    /// <param name="targetName">Target name, for logs.</param>
    /// <param name="streamName">Stream to write to.</param>
    /// <param name="client">Client for the stream's endpoint; owned and disposed by this sender.</param>
    /// <param name="encoder">Envelope and partition key settings.</param>
    /// <param name="limits">Limits, from <see cref="LimitsFor"/>.</param>
    /// <param name="logger">Logging.</param>
    public KinesisBatchSender(
        string targetName,
        string streamName,
        KinesisClient client,
        KinesisRecordEncoder encoder,
        BatchLimits limits,
        ILogger logger)
    {
        TargetName = targetName;
        StreamName = streamName;
        _client = client;
        _encoder = encoder;
        Limits = limits;
        _logger = logger;
    }

    /// <summary>Target name from the configuration.</summary>
    public string TargetName { get; }

    /// <summary>The stream written to.</summary>
    public string StreamName { get; }

    /// <inheritdoc />
    public BatchLimits Limits { get; }

    /// <summary>
    /// Kinesis limits for a target: 500 records and 5 MiB per call, <c>maxRecordBytes</c>
    /// (default 1 MiB) per record. A record limit above 5 MiB raises the call limit with it, so a
    /// single large record still fits one call.
    /// </summary>
    public static BatchLimits LimitsFor(TargetOptions options)
    {
        var record = options.MaxRecordBytes ?? DefaultMaxRecordBytes;
        return new BatchLimits(MaxRecordsPerCall, Math.Max(MaxBytesPerCall, record), record);
    }

    /// <summary>Envelope plus partition key bytes; builds and keeps the record for sending.</summary>
    public int MeasureWireBytes(IngestEvent e)
    {
        var record = _encoder.Encode(e);
        _records.AddOrUpdate(e, record);
        return record.WireBytes;
    }

    /// <inheritdoc />
    public async Task SendAsync(IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        var records = new KinesisRecord[batch.Count];
        for (var i = 0; i < records.Length; i++)
        {
            var e = batch[i];
            if (!_records.TryGetValue(e, out var record))
            {
                // Enqueued without being measured by this sender (e.g. forwarded dead letters).
                record = _encoder.Encode(e);
                _records.AddOrUpdate(e, record);
            }
            records[i] = record;
        }

        var codes = new string?[records.Length];
        PutRecordsResult result;
        try
        {
            result = await _client.PutRecordsAsync(StreamName, records, codes, IsSenderFaultCode, cancellationToken);
        }
        catch (KinesisException ex) when (!ex.IsTransient)
        {
            LogCallRejected(_logger, TargetName, StreamName, batch.Count, ex.StatusCode, ex.ErrorType, ex.Message);
            Array.Fill(outcomes, EntryOutcome.Rejected, 0, batch.Count);
            Forget(batch);
            return;
        }

        var rejected = 0;
        for (var i = 0; i < records.Length; i++)
        {
            var outcome = codes[i] is not { } code ? EntryOutcome.Delivered
                : IsSenderFault(code) ? EntryOutcome.Rejected
                : EntryOutcome.Retry;
            outcomes[i] = outcome;
            if (outcome == EntryOutcome.Rejected)
            {
                rejected++;
            }
            if (outcome != EntryOutcome.Retry)
            {
                _records.Remove(batch[i]);
            }
        }
        if (rejected > 0)
        {
            LogRecordsRejected(_logger, TargetName, StreamName, rejected, result.FirstErrorCode ?? "", result.FirstErrorMessage ?? "");
        }
    }

    /// <summary>
    /// Per-record codes Kinesis documents are <c>ProvisionedThroughputExceededException</c> and
    /// <c>InternalFailure</c> (both transient). Codes that say the record or the caller is wrong are
    /// sender faults; anything unknown is retried (attempts are bounded by the writer).
    /// </summary>
    public static bool IsSenderFault(string errorCode) =>
        errorCode.EndsWith("ValidationException", StringComparison.Ordinal)
        || errorCode is "InvalidArgumentException"
            or "ResourceNotFoundException"
            or "AccessDeniedException"
            or "KMSDisabledException"
            or "KMSInvalidStateException"
            or "KMSAccessDeniedException"
            or "KMSNotFoundException"
            or "KMSOptInRequired";

    public void Dispose() => _client.Dispose();

    private void Forget(IReadOnlyList<IngestEvent> batch)
    {
        foreach (var e in batch)
        {
            _records.Remove(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Target {Target}: Kinesis refused PutRecords to stream {Stream} for {Count} records (HTTP {Status} {ErrorType}): {Reason}. The records are dead-lettered, not retried")]
    private static partial void LogCallRejected(ILogger logger, string target, string stream, int count, int status, string errorType, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Target {Target}: Kinesis rejected {Count} records of a PutRecords call to stream {Stream} ({ErrorCode}: {Reason}); they are dead-lettered")]
    private static partial void LogRecordsRejected(ILogger logger, string target, string stream, int count, string errorCode, string reason);
}
