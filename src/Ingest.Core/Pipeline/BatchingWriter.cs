using System.Diagnostics;
using System.Threading.Channels;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline.Resilience;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;

namespace Ingest.Core.Pipeline;

/// <summary>Batching settings of one target, with defaults already applied.</summary>
/// <param name="MaxRecords">Entries per batch.</param>
/// <param name="MaxBytes">Wire bytes per batch.</param>
/// <param name="Linger">Longest wait for a batch to fill.</param>
/// <param name="MaxInFlight">Batches sent at once.</param>
/// <param name="ChannelCapacity">Events queued before new ones are refused.</param>
/// <param name="MaxAttempts">Attempts per entry, the first included.</param>
/// <param name="BaseDelay">First retry delay.</param>
/// <param name="MaxDelay">Largest retry delay.</param>
/// <param name="Circuit">Circuit breaker; null turns it off.</param>
public sealed record BatchingSettings(
    int MaxRecords,
    long MaxBytes,
    TimeSpan Linger,
    int MaxInFlight,
    int ChannelCapacity,
    int MaxAttempts,
    TimeSpan BaseDelay,
    TimeSpan MaxDelay,
    CircuitSettings? Circuit = null);

/// <summary>Where events go when the backend refused them for good or retries ran out.</summary>
public interface IDeadLetterSink
{
    void DeadLetter(IReadOnlyList<IngestEvent> events, string reason);
}

/// <summary>
/// One per async target: a bounded channel that the request path writes to without waiting, and
/// a loop that assembles batches (flush on count, bytes or linger), sends them with bounded
/// concurrency through the target's <see cref="DeliveryPipeline"/> (Polly retry with exponential
/// backoff and jitter around a circuit breaker), retries only the failed entries, and dead-letters
/// sender faults at once and the rest after their last attempt. Events keep their ids across retries.
/// While the circuit is open no batch is sent: in-flight batches wait for the probe, so the channel
/// and the memory budget fill and new requests get 503.
/// </summary>
public sealed partial class BatchingWriter : IEventTarget
{
    private readonly IBatchSender _sender;
    private readonly BatchingSettings _settings;
    private readonly BatchLimits _limits;
    private readonly BufferBudget _budget;
    private readonly IDeadLetterSink _deadLetters;
    private readonly IngestMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<IngestEvent> _channel;
    private readonly SemaphoreSlim _inFlight;
    private readonly CancellationTokenSource _abort = new();
    private readonly KeyValuePair<string, object?> _targetTag;
    private readonly Lock _sendsGate = new();
    private readonly HashSet<Task> _sends = [];
    private readonly DeliveryPipeline _delivery;
    private Task _loop = Task.CompletedTask;
    private volatile bool _closed;

    public BatchingWriter(
        string name,
        IBatchSender sender,
        BatchingSettings settings,
        BufferBudget budget,
        IDeadLetterSink deadLetters,
        IngestMetrics metrics,
        TimeProvider timeProvider,
        ILogger logger,
        Func<double>? jitter = null)
    {
        Name = name;
        _sender = sender;
        _settings = settings;
        _limits = sender.Limits;
        _budget = budget;
        _deadLetters = deadLetters;
        _metrics = metrics;
        _time = timeProvider;
        _logger = logger;
        _targetTag = new("target", name);
        _inFlight = new SemaphoreSlim(settings.MaxInFlight, settings.MaxInFlight);
        _channel = Channel.CreateBounded<IngestEvent>(new BoundedChannelOptions(settings.ChannelCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _delivery = new DeliveryPipeline(name, settings, timeProvider, Settle, logger, jitter);
    }

    public string Name { get; }

    public int QueuedCount => _channel.Reader.Count;

    /// <summary>State of the target's circuit breaker (closed when it is turned off).</summary>
    public BreakerState Circuit => _delivery.State;

    /// <summary>Starts the batching loop.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    public EnqueueResult TryEnqueue(IngestEvent e)
    {
        if (_closed)
        {
            return EnqueueResult.Closed;
        }
        var wireBytes = _sender.MeasureWireBytes(e);
        if (wireBytes > _limits.MaxRecordBytes)
        {
            return EnqueueResult.TooLarge;
        }
        e.WireBytes = wireBytes;
        if (!_budget.TryReserve(e))
        {
            return EnqueueResult.Full;
        }
        if (_channel.Writer.TryWrite(e))
        {
            return EnqueueResult.Accepted;
        }
        _budget.Release(e);
        return _closed ? EnqueueResult.Closed : EnqueueResult.Full;
    }

    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _closed = true;
        _channel.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(cancellationToken);
            Task[] sends;
            lock (_sendsGate)
            {
                sends = [.. _sends];
            }
            await Task.WhenAll(sends).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Out of time: stop retrying and keep what is left on disk rather than lose it.
            await _abort.CancelAsync();
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Task[] sends;
            lock (_sendsGate)
            {
                sends = [.. _sends];
            }
            await Task.WhenAll(sends).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        IngestEvent? carry = null;
        // The batch being assembled, not yet handed to a send: spilled too if shutdown runs out of time.
        List<IngestEvent>? batch = null;
        try
        {
            while (carry is not null || await reader.WaitToReadAsync(_abort.Token))
            {
                batch = new List<IngestEvent>(Math.Min(_settings.MaxRecords, 64));
                long bytes = 0;
                if (carry is not null)
                {
                    batch.Add(carry);
                    bytes = carry.WireBytes;
                    carry = null;
                }
                var deadline = _time.GetTimestamp() + (long)(_settings.Linger.TotalSeconds * _time.TimestampFrequency);
                while (batch.Count < _settings.MaxRecords)
                {
                    if (reader.TryRead(out var e))
                    {
                        if (batch.Count > 0 && bytes + e.WireBytes > _settings.MaxBytes)
                        {
                            carry = e;
                            break;
                        }
                        batch.Add(e);
                        bytes += e.WireBytes;
                        continue;
                    }
                    var remaining = deadline - _time.GetTimestamp();
                    if (remaining <= 0 || !await WaitForMoreAsync(reader, _time.GetElapsedTime(0, remaining)))
                    {
                        break;
                    }
                }
                if (batch.Count == 0)
                {
                    continue;
                }
                await _inFlight.WaitAsync(_abort.Token);
                await _budget.StartSendingAsync(bytes, _abort.Token);
                var send = SendWithRetriesAsync(batch, bytes);
                batch = null;
                lock (_sendsGate)
                {
                    _sends.Add(send);
                }
                _ = send.ContinueWith(
                    (t, state) =>
                    {
                        var self = (BatchingWriter)state!;
                        lock (self._sendsGate)
                        {
                            self._sends.Remove(t);
                        }
                    },
                    this,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            var left = batch ?? [];
            if (carry is not null)
            {
                left.Add(carry);
            }
            while (reader.TryRead(out var e))
            {
                left.Add(e);
            }
            if (left.Count > 0)
            {
                DeadLetter(left, "shutdown before delivery");
            }
        }
    }

    private async Task<bool> WaitForMoreAsync(ChannelReader<IngestEvent> reader, TimeSpan timeout)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, _abort.Token);
        try
        {
            return await reader.WaitToReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task SendWithRetriesAsync(List<IngestEvent> batch, long wireBytes)
    {
        await Task.Yield();
        var delivery = new BatchDelivery(batch);
        try
        {
            while (delivery.Pending.Count > 0)
            {
                try
                {
                    await _delivery.Pipeline.ExecuteAsync(
                        static (state, cancellationToken) => state.Writer.AttemptAsync(state.Delivery, cancellationToken),
                        (Writer: this, Delivery: delivery),
                        _abort.Token);
                }
                catch (BrokenCircuitException open)
                {
                    // The backend is known to be down: nothing was sent and no attempt counted.
                    // Wait for the break to end; one of the waiting batches becomes the probe.
                    await Task.Delay(open.RetryAfter is { } after && after > TimeSpan.Zero ? after : _settings.BaseDelay, _time, _abort.Token);
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            if (delivery.Pending.Count > 0)
            {
                DeadLetter(delivery.Pending, "shutdown before delivery");
            }
        }
        finally
        {
            _budget.DoneSending(wireBytes);
            _inFlight.Release();
        }
    }

    /// <summary>One send of the pending entries: completes the delivered, dead-letters sender faults, keeps the rest pending.</summary>
    private async ValueTask<BatchDelivery> AttemptAsync(BatchDelivery delivery, CancellationToken cancellationToken)
    {
        var pending = delivery.Pending;
        var outcomes = new EntryOutcome[pending.Count];
        foreach (var e in pending)
        {
            e.Attempts++;
        }
        var failedAsWhole = false;
        var started = _time.GetTimestamp();
        try
        {
            await _sender.SendAsync(pending, outcomes, cancellationToken);
        }
        catch (Exception ex) when (!_abort.IsCancellationRequested)
        {
            LogBatchFailed(_logger, Name, pending.Count, ex.GetType().Name, ex.Message);
            Array.Fill(outcomes, EntryOutcome.Retry);
            failedAsWhole = true;
        }
        _metrics.IntegrationLatency.Record(_time.GetElapsedTime(started).TotalSeconds, _targetTag);
        _metrics.BatchSize.Record(pending.Count, _targetTag);

        List<IngestEvent>? retry = null;
        List<IngestEvent>? rejected = null;
        var delivered = 0;
        for (var i = 0; i < pending.Count; i++)
        {
            var e = pending[i];
            switch (outcomes[i])
            {
                case EntryOutcome.Delivered:
                    delivered++;
                    Complete(e, delivered: true);
                    break;
                case EntryOutcome.Rejected:
                    (rejected ??= []).Add(e);
                    break;
                default:
                    (retry ??= []).Add(e);
                    break;
            }
        }
        if (rejected is not null)
        {
            DeadLetter(rejected, "rejected by the backend (sender fault)");
        }
        if (retry is not null)
        {
            _metrics.EventsRetried.Add(retry.Count, _targetTag);
        }
        delivery.Pending = retry ?? [];
        delivery.BackendFailed = failedAsWhole || (retry is not null && delivered == 0);
        return delivery;
    }

    /// <summary>
    /// After an attempt left entries to send again (the circuit breaker has seen it): dead-letters
    /// those out of attempts and says whether to retry. A backend failure that left the circuit
    /// open is not the entries' fault, so it does not use up their attempts.
    /// </summary>
    private bool Settle(BatchDelivery delivery)
    {
        if (delivery.BackendFailed && _delivery.State != BreakerState.Closed)
        {
            foreach (var e in delivery.Pending)
            {
                e.Attempts--;
            }
            return true;
        }
        List<IngestEvent>? exhausted = null;
        List<IngestEvent>? retry = null;
        foreach (var e in delivery.Pending)
        {
            if (e.Attempts >= _settings.MaxAttempts)
            {
                (exhausted ??= []).Add(e);
            }
            else
            {
                (retry ??= []).Add(e);
            }
        }
        if (exhausted is not null)
        {
            DeadLetter(exhausted, $"retries exhausted after {_settings.MaxAttempts} attempts");
            delivery.Pending = retry ?? [];
        }
        return delivery.Pending.Count > 0;
    }

    private void DeadLetter(List<IngestEvent> events, string reason)
    {
        try
        {
            _deadLetters.DeadLetter(events, reason);
            _metrics.EventsDeadLettered.Add(events.Count, _targetTag);
            foreach (var e in events)
            {
                LogDeadLettered(_logger, Name, e.Id, reason);
            }
        }
        catch (Exception ex)
        {
            LogDeadLetterFailed(_logger, Name, events.Count, ex.Message);
        }
        foreach (var e in events)
        {
            Complete(e, delivered: false);
        }
    }

    private void Complete(IngestEvent e, bool delivered)
    {
        _budget.Release(e);
        if (delivered)
        {
            _metrics.EventsDelivered.Add(1, _targetTag);
            if (_metrics.DeliveryLag.Enabled)
            {
                var lagMs = _time.GetUtcNow().ToUnixTimeMilliseconds() - e.ReceivedAtMs;
                _metrics.DeliveryLag.Record(lagMs / 1000.0, _targetTag);
            }
        }
        e.Delivered?.TrySetResult(delivered);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
        await DrainAsync(timeout.Token);
        // Senders own backend clients (HTTP connections); they go with the writer.
        (_sender as IDisposable)?.Dispose();
        _abort.Dispose();
        _inFlight.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: batch of {Count} failed as a whole ({Error}: {Reason}); retrying")]
    private static partial void LogBatchFailed(ILogger logger, string target, int count, string error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: event {EventId} dead-lettered: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string target, Guid eventId, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Target {Target}: could not dead-letter {Count} events: {Reason}")]
    private static partial void LogDeadLetterFailed(ILogger logger, string target, int count, string reason);
}
