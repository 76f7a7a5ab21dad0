using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
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
/// the SQS client must be built with <c>MaxErrorRetry = 0</c>.
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

    // Error codes that mean "slow down" or "try again": the call failed as a whole and nothing was stored.
    private static readonly HashSet<string> TransientErrorCodes = new(StringComparer.Ordinal)
    {
        "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottled", "RequestThrottledException",
        "AWS.SimpleQueueService.RequestThrottled", "TooManyRequestsException", "RequestLimitExceeded",
        "SlowDown", "KmsThrottled", "AWS.SimpleQueueService.KmsThrottled",
        "InternalError", "InternalFailure", "ServiceUnavailable", "AWS.SimpleQueueService.ServiceUnavailable",
        "RequestTimeout", "RequestTimeoutException", "RequestExpired", "RequestTimeTooSkewed", "IDPCommunicationError",
    };

    private readonly IAmazonSQS _client;
    private readonly IDisposable? _owned;
    private readonly string _queueUrl;
    private readonly SqsGroupIdSource? _fifoGroup;
    private readonly ILogger _logger;

    // Entries that must be sent again keep their built form, so a retry neither re-encodes the body
    // nor re-parses the group id. Weak keys: an event that leaves the writer any other way (dead
    // letter, shutdown) takes its entry with it.
    private readonly ConditionalWeakTable<IngestEvent, SendMessageBatchRequestEntry> _retryEntries = new();

    /// <summary>Creates a sender over a client the caller owns and disposes.</summary>
    public SqsBatchSender(IAmazonSQS client, SqsSenderOptions options, ILogger logger)
        : this(client, options, logger, owned: null)
    {
    }

    internal SqsBatchSender(IAmazonSQS client, SqsSenderOptions options, ILogger logger, IDisposable? owned)
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
        var entries = new List<SendMessageBatchRequestEntry>(count);
        var cached = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var e = batch[i];
            if (_retryEntries.TryGetValue(e, out var entry))
            {
                cached[i] = true;
            }
            else
            {
                entry = SqsMessageFormat.BuildEntry(e, _fifoGroup);
            }
            entries.Add(entry);
        }

        SendMessageBatchResponse response;
        try
        {
            response = await _client.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = _queueUrl, Entries = entries }, cancellationToken);
        }
        catch (AmazonServiceException ex) when (!IsTransient(ex))
        {
            // Nothing in this call can succeed by resending it (missing queue, access denied, bad
            // request): dead-letter now instead of burning every retry.
            LogBatchRefused(_logger, _queueUrl, count, ex.ErrorCode ?? ex.GetType().Name, ex.Message);
            outcomes.AsSpan(0, count).Fill(EntryOutcome.Rejected);
            Forget(batch, cached);
            return;
        }
        catch
        {
            // Throttling, 5xx, network or timeout: the writer retries the whole batch.
            Remember(batch, entries, cached);
            throw;
        }

        // An entry the response does not mention may or may not be stored: resend (at least once).
        outcomes.AsSpan(0, count).Fill(EntryOutcome.Retry);
        if (response.Successful is { } successful)
        {
            foreach (var ok in successful)
            {
                var i = IndexOf(entries, ok.Id);
                if (i >= 0)
                {
                    outcomes[i] = EntryOutcome.Delivered;
                }
            }
        }
        if (response.Failed is { } failed)
        {
            foreach (var fail in failed)
            {
                var i = IndexOf(entries, fail.Id);
                if (i < 0)
                {
                    continue;
                }
                if (fail.SenderFault == true)
                {
                    outcomes[i] = EntryOutcome.Rejected;
                    LogEntryRejected(_logger, _queueUrl, batch[i].Id, fail.Code, fail.Message);
                }
                else
                {
                    LogEntryRetry(_logger, _queueUrl, batch[i].Id, fail.Code, fail.Message);
                }
            }
        }
        for (var i = 0; i < count; i++)
        {
            if (outcomes[i] == EntryOutcome.Retry)
            {
                if (!cached[i])
                {
                    _retryEntries.AddOrUpdate(batch[i], entries[i]);
                }
            }
            else if (cached[i])
            {
                _retryEntries.Remove(batch[i]);
            }
        }
    }

    /// <summary>True while the event's built entry is kept for a resend.</summary>
    internal bool IsCachedForRetry(IngestEvent e) => _retryEntries.TryGetValue(e, out _);

    /// <summary>True when the whole call should be retried: throttling, 5xx, or no answer at all.</summary>
    internal static bool IsTransient(AmazonServiceException ex) =>
        ex.StatusCode == 0
        || ex.StatusCode == HttpStatusCode.TooManyRequests
        || (int)ex.StatusCode >= 500
        || ex.Retryable is not null
        || ex is RequestThrottledException or KmsThrottledException
        || (ex.ErrorCode is { } code && TransientErrorCodes.Contains(code));

    private static int IndexOf(List<SendMessageBatchRequestEntry> entries, string? id)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (string.Equals(entries[i].Id, id, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private void Remember(IReadOnlyList<IngestEvent> batch, List<SendMessageBatchRequestEntry> entries, bool[] cached)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            if (!cached[i])
            {
                _retryEntries.AddOrUpdate(batch[i], entries[i]);
            }
        }
    }

    private void Forget(IReadOnlyList<IngestEvent> batch, bool[] cached)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            if (cached[i])
            {
                _retryEntries.Remove(batch[i]);
            }
        }
    }

    /// <summary>Disposes the SQS client when this sender created it.</summary>
    public void Dispose() => _owned?.Dispose();

    [LoggerMessage(Level = LogLevel.Error, Message = "SQS {QueueUrl}: batch of {Count} refused as a whole ({ErrorCode}: {Reason}); dead-lettering it, not retrying")]
    private static partial void LogBatchRefused(ILogger logger, string queueUrl, int count, string errorCode, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQS {QueueUrl}: event {EventId} refused (sender fault {ErrorCode}: {Reason})")]
    private static partial void LogEntryRejected(ILogger logger, string queueUrl, Guid eventId, string? errorCode, string? reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SQS {QueueUrl}: event {EventId} failed ({ErrorCode}: {Reason}); will retry")]
    private static partial void LogEntryRetry(ILogger logger, string queueUrl, Guid eventId, string? errorCode, string? reason);
}
