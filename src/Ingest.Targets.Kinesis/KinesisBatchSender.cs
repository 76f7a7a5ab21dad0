using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Kinesis;

/// <summary>
/// Sends batches to one Kinesis stream with PutRecords. Each event becomes one record (see
/// <see cref="KinesisRecordEncoder"/>), measured when the writer queues it and built at each send.
/// A record with <c>ErrorCode</c> is retried unless the code is a sender fault; throttling, 5xx and
/// network failures of the whole call throw (the writer retries the batch); any other refusal of
/// the whole call rejects every entry. With a <see cref="ShardPacer"/>, records go only as fast as
/// their shard takes them: a hot partition key waits here instead of being throttled by Kinesis.
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

    private const string ThroughputExceeded = "ProvisionedThroughputExceededException";

    // Cached delegate: tells the client which failed record to describe in the result (for the log).
    private static readonly Func<string, bool> IsSenderFaultCode = IsSenderFault;

    private readonly KinesisClient _client;
    private readonly KinesisRecordEncoder _encoder;
    private readonly ILogger _logger;
    private readonly ShardPacer? _pacer;
    private readonly KinesisMetrics? _metrics;
    private readonly TimeProvider _time;
    private readonly KeyValuePair<string, object?> _targetTag;

    /// <param name="targetName">Target name, for logs.</param>
    /// <param name="streamName">Stream to write to.</param>
    /// <param name="client">Client for the stream's endpoint; owned and disposed by this sender.</param>
    /// <param name="encoder">Envelope and partition key settings.</param>
    /// <param name="limits">Limits, from <see cref="LimitsFor"/>.</param>
    /// <param name="logger">Logging.</param>
    /// <param name="pacer">Keeps each shard under its write limit; owned by this sender. Null: records are sent as they come.</param>
    /// <param name="metrics">Instruments; null: none.</param>
    /// <param name="timeProvider">Clock for pacing waits. Default: the system clock.</param>
    public KinesisBatchSender(
        string targetName,
        string streamName,
        KinesisClient client,
        KinesisRecordEncoder encoder,
        BatchLimits limits,
        ILogger logger,
        ShardPacer? pacer = null,
        KinesisMetrics? metrics = null,
        TimeProvider? timeProvider = null)
    {
        TargetName = targetName;
        StreamName = streamName;
        _client = client;
        _encoder = encoder;
        Limits = limits;
        _logger = logger;
        _pacer = pacer;
        _metrics = metrics;
        _time = timeProvider ?? TimeProvider.System;
        _targetTag = new("target", targetName);
    }

    /// <summary>Target name from the configuration.</summary>
    public string TargetName { get; }

    /// <summary>The stream written to.</summary>
    public string StreamName { get; }

    /// <inheritdoc />
    public BatchLimits Limits { get; }

    /// <summary>The shard pacer, when pacing is on.</summary>
    public ShardPacer? Pacer => _pacer;

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

    /// <summary>
    /// Envelope plus partition key bytes. The record is not kept: a queued event would then hold its
    /// body twice, outside the buffer budget. Each send builds it again (same bytes, same key).
    /// </summary>
    public int MeasureWireBytes(IngestEvent e) => _encoder.MeasureWireBytes(e);

    /// <inheritdoc />
    public async Task SendAsync(IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        var records = new KinesisRecord[batch.Count];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = _encoder.Encode(batch[i]);
        }

        if (_pacer is null)
        {
            var all = new int[records.Length];
            for (var i = 0; i < all.Length; i++)
            {
                all[i] = i;
            }
            await SendCallAsync(records, all, outcomes, null, null, cancellationToken);
            return;
        }
        await _pacer.RefreshIfDueAsync(cancellationToken);
        await SendPacedAsync(_pacer, records, outcomes, cancellationToken);
    }

    /// <summary>
    /// Sends the records whose shard has budget now, waits for the next shard to have budget for its
    /// held-back records, and repeats; records still held back after <see cref="ShardPacer.MaxDelay"/>
    /// go back to the writer as <see cref="EntryOutcome.Retry"/>. A record keeps its place behind the
    /// records of its shard that were held back before it.
    /// </summary>
    private async Task SendPacedAsync(ShardPacer pacer, KinesisRecord[] records, EntryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var pending = new List<int>(records.Length);
        for (var i = 0; i < records.Length; i++)
        {
            pending.Add(i);
        }
        var ready = new List<int>(records.Length);
        var deferred = new List<int>();
        var shardOf = new int[records.Length];
        var callsDone = 0;
        var firstPass = true;
        while (true)
        {
            var state = pacer.State;
            ready.Clear();
            deferred.Clear();
            Dictionary<int, (int Records, long Bytes)>? refused = null;
            foreach (var i in pending)
            {
                var record = records[i];
                var shard = state.Map.IndexOf(record.HashKey);
                shardOf[i] = shard;
                if (shard < 0)
                {
                    // No map (ListShards not allowed or failed) or a gap in it: send unpaced.
                    if (state.Map.Count > 0)
                    {
                        pacer.MarkStale("unknown shard");
                    }
                    ready.Add(i);
                }
                else if ((refused is not null && refused.ContainsKey(shard)) || !state.Budgets[shard].TryTake(record.WireBytes))
                {
                    refused ??= [];
                    var (count, bytes) = refused.GetValueOrDefault(shard);
                    refused[shard] = (count + 1, bytes + record.WireBytes);
                    deferred.Add(i);
                }
                else
                {
                    ready.Add(i);
                }
            }
            if (firstPass && deferred.Count > 0)
            {
                _metrics?.RecordsPaced.Add(deferred.Count, _targetTag);
            }
            firstPass = false;

            if (ready.Count > 0)
            {
                try
                {
                    await SendCallAsync(records, ready, outcomes, state, shardOf, cancellationToken);
                }
                catch (Exception ex) when (callsDone > 0 && !cancellationToken.IsCancellationRequested)
                {
                    // Earlier calls of this batch stored records: retry only what is left, not the whole batch.
                    LogPacedCallFailed(_logger, TargetName, StreamName, ready.Count + deferred.Count, ex.GetType().Name, ex.Message);
                    Fill(outcomes, ready, EntryOutcome.Retry);
                    Fill(outcomes, deferred, EntryOutcome.Retry);
                    return;
                }
                callsDone++;
            }
            if (deferred.Count == 0)
            {
                return;
            }

            var wait = TimeSpan.MaxValue;
            foreach (var (shard, need) in refused!)
            {
                var until = state.Budgets[shard].TimeUntil(need.Records, need.Bytes);
                if (until < wait)
                {
                    wait = until;
                }
            }
            if (_time.GetElapsedTime(started) + wait > pacer.MaxDelay)
            {
                LogPacingGaveUp(_logger, TargetName, StreamName, deferred.Count, pacer.MaxDelay.TotalSeconds);
                Fill(outcomes, deferred, EntryOutcome.Retry);
                return;
            }
            await Task.Delay(wait, _time, cancellationToken);
            (pending, deferred) = (deferred, pending);
        }
    }

    /// <summary>One PutRecords call with the records at <paramref name="indices"/>; fills their outcomes.</summary>
    private async Task SendCallAsync(
        KinesisRecord[] records,
        IReadOnlyList<int> indices,
        EntryOutcome[] outcomes,
        ShardState? state,
        int[]? shardOf,
        CancellationToken cancellationToken)
    {
        var count = indices.Count;
        var subset = new KinesisRecord[count];
        string?[]? expected = state is null ? null : new string?[count];
        for (var j = 0; j < count; j++)
        {
            var i = indices[j];
            subset[j] = records[i];
            if (expected is not null && shardOf![i] >= 0)
            {
                expected[j] = state!.Map.Shards[shardOf[i]].ShardId;
            }
        }

        var codes = new string?[count];
        PutRecordsResult result;
        try
        {
            result = await _client.PutRecordsAsync(StreamName, subset, codes, IsSenderFaultCode, cancellationToken, expected);
        }
        catch (KinesisException ex) when (!ex.IsTransient)
        {
            LogCallRejected(_logger, TargetName, StreamName, count, ex.StatusCode, ex.ErrorType, ex.Message);
            for (var j = 0; j < count; j++)
            {
                outcomes[indices[j]] = EntryOutcome.Rejected;
            }
            return;
        }
        catch (KinesisException ex) when (ex.ErrorType == ThroughputExceeded)
        {
            // The whole call was throttled: the writer retries it after a backoff.
            _metrics?.ThrottledRecords.Add(count, _targetTag);
            _pacer?.MarkStale("throttled");
            throw;
        }

        var rejected = 0;
        var throttled = 0;
        for (var j = 0; j < count; j++)
        {
            var i = indices[j];
            var code = codes[j];
            var outcome = code is null ? EntryOutcome.Delivered
                : IsSenderFault(code) ? EntryOutcome.Rejected
                : EntryOutcome.Retry;
            outcomes[i] = outcome;
            if (outcome == EntryOutcome.Rejected)
            {
                rejected++;
            }
            else if (ReferenceEquals(code, ThroughputExceeded) || code == ThroughputExceeded)
            {
                throttled++;
                if (state is not null)
                {
                    _pacer!.OnThrottled(state, shardOf![i]);
                }
            }
        }
        if (throttled > 0)
        {
            _metrics?.ThrottledRecords.Add(throttled, _targetTag);
        }
        if (result.UnexpectedShards > 0)
        {
            _pacer?.MarkStale("unknown shard");
        }
        if (rejected > 0)
        {
            LogRecordsRejected(_logger, TargetName, StreamName, rejected, result.FirstErrorCode ?? "", result.FirstErrorMessage ?? "");
        }
    }

    private static void Fill(EntryOutcome[] outcomes, List<int> indices, EntryOutcome outcome)
    {
        foreach (var i in indices)
        {
            outcomes[i] = outcome;
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

    public void Dispose()
    {
        _pacer?.Dispose();
        _client.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Target {Target}: Kinesis refused PutRecords to stream {Stream} for {Count} records (HTTP {Status} {ErrorType}): {Reason}. The records are dead-lettered, not retried")]
    private static partial void LogCallRejected(ILogger logger, string target, string stream, int count, int status, string errorType, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: a PutRecords call to stream {Stream} failed after part of the batch was stored; {Count} records go back for retry ({Error}: {Reason})")]
    private static partial void LogPacedCallFailed(ILogger logger, string target, string stream, int count, string error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: {Count} records for stream {Stream} waited {Seconds}s for their shard's write budget; they go back for retry. A partition key sends more than one shard takes: spread the keys or add shards")]
    private static partial void LogPacingGaveUp(ILogger logger, string target, string stream, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Target {Target}: Kinesis rejected {Count} records of a PutRecords call to stream {Stream} ({ErrorCode}: {Reason}); they are dead-lettered")]
    private static partial void LogRecordsRejected(ILogger logger, string target, string stream, int count, string errorCode, string reason);
}
