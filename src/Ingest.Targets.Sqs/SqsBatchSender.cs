using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Sqs;

/// <summary>Settings of one <see cref="SqsBatchSender"/>.</summary>
public sealed record SqsSenderOptions
{
    /// <summary>Queue URL. Required. A URL whose last segment ends in <c>.fifo</c> is a FIFO queue.</summary>
    public required string QueueUrl { get; init; }

    /// <summary>Largest message, body as sent plus attributes, 1024..1048576. Default: 1048576 (1 MiB).</summary>
    public int MaxRecordBytes { get; init; } = SqsBatchSender.DefaultMaxRecordBytes;

    /// <summary>
    /// FIFO only: <c>header:NAME</c> or <c>json:FIELD</c> (top-level string or number). Default: null,
    /// and also when the value is missing: the route key. Characters SQS does not allow in a group
    /// id are %-escaped (a space becomes %20), so distinct keys stay distinct groups.
    /// </summary>
    public string? MessageGroupId { get; init; }
}

/// <summary>
/// Sends one batch with SQS <c>SendMessageBatch</c> (10 entries, 1 MiB including attributes) and
/// reports each entry's outcome. Bodies go as text when they are XML-legal UTF-8, else base64 with
/// <c>ingest-encoding: base64</c>. FIFO queues get a message group id and the event id as
/// deduplication id. Retries, backoff and dead letters are the <see cref="BatchingWriter"/>'s job:
/// the client makes one attempt per call. A resent entry is written again from its event: that
/// costs about as much as looking up a kept copy.
/// </summary>
public sealed partial class SqsBatchSender : IBatchSender, IDisposable
{
    /// <summary>SendMessageBatch entry limit.</summary>
    public const int MaxEntriesPerBatch = 10;

    /// <summary>SendMessageBatch size limit, bodies and attributes of all entries.</summary>
    public const int MaxBatchBytes = 1_048_576;

    /// <summary>Default and largest message size.</summary>
    public const int DefaultMaxRecordBytes = 1_048_576;

    /// <summary>Smallest configurable message size (SQS <c>MaximumMessageSize</c> minimum).</summary>
    public const int MinRecordBytes = 1024;

    private readonly SqsClient _client;
    private readonly IDisposable? _owned;
    private readonly string _queueUrl;
    private readonly SqsGroupIdSource? _fifoGroup;
    private readonly ILogger _logger;

    /// <summary>Creates a sender over <paramref name="client"/>; <paramref name="owned"/> (the client and what else the sender owns) is disposed with it.</summary>
    internal SqsBatchSender(SqsClient client, SqsSenderOptions options, ILogger logger, IDisposable? owned = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.QueueUrl);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRecordBytes, MinRecordBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxRecordBytes, DefaultMaxRecordBytes);
        IsFifo = SqsQueueName.IsFifo(options.QueueUrl);
        if (options.MessageGroupId is { } source && (!IsFifo || !EventKeySource.IsValid(source, allowRandom: false)))
        {
            throw new ArgumentException("MessageGroupId applies to FIFO queues only and must be header:NAME or json:FIELD.", nameof(options));
        }
        _client = client;
        _owned = owned;
        _queueUrl = options.QueueUrl;
        _fifoGroup = IsFifo ? new SqsGroupIdSource(options.MessageGroupId) : null;
        _logger = logger;
        Limits = new BatchLimits(MaxEntriesPerBatch, MaxBatchBytes, options.MaxRecordBytes);
    }

    /// <summary>The queue this sender writes to.</summary>
    public string QueueUrl => _queueUrl;

    /// <summary>True for a FIFO queue (URL ends in <c>.fifo</c>).</summary>
    public bool IsFifo { get; }

    /// <inheritdoc />
    public BatchLimits Limits { get; }

    /// <inheritdoc />
    public int MeasureWireBytes(IngestEvent e) => SqsMessageFormat.MeasureWireBytes(e);

    /// <inheritdoc />
    public async Task SendAsync(IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        var count = batch.Count;
        IReadOnlyList<SqsEntryFailure> failures;
        try
        {
            failures = await _client.SendMessageBatchAsync(_queueUrl, batch, _fifoGroup, outcomes, cancellationToken);
        }
        catch (SqsServiceException ex) when (!ex.IsTransient)
        {
            // Nothing in this call can succeed by resending it (missing queue, access denied, bad
            // request): dead-letter now instead of burning every retry.
            LogBatchRefused(_logger, _queueUrl, count, ex.ErrorCode, ex.Message);
            outcomes.AsSpan(0, count).Fill(EntryOutcome.Rejected);
            return;
        }
        // Anything else (throttling, 5xx, an unreadable answer, network, timeout) propagates: the
        // writer retries the whole batch.

        for (var i = 0; i < failures.Count; i++)
        {
            var fail = failures[i];
            if (fail.SenderFault)
            {
                LogEntryRejected(_logger, _queueUrl, batch[fail.Index].Id, fail.Code, fail.Message);
            }
            else
            {
                LogEntryRetry(_logger, _queueUrl, batch[fail.Index].Id, fail.Code, fail.Message);
            }
        }
    }

    /// <summary>Disposes the SQS clients when this sender created them.</summary>
    public void Dispose() => _owned?.Dispose();

    [LoggerMessage(Level = LogLevel.Error, Message = "SQS {QueueUrl}: batch of {Count} refused as a whole ({ErrorCode}: {Reason}); dead-lettering it, not retrying")]
    private static partial void LogBatchRefused(ILogger logger, string queueUrl, int count, string errorCode, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQS {QueueUrl}: event {EventId} refused (sender fault {ErrorCode}: {Reason})")]
    private static partial void LogEntryRejected(ILogger logger, string queueUrl, Guid eventId, string? errorCode, string? reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SQS {QueueUrl}: event {EventId} failed ({ErrorCode}: {Reason}); will retry")]
    private static partial void LogEntryRetry(ILogger logger, string queueUrl, Guid eventId, string? errorCode, string? reason);
}
