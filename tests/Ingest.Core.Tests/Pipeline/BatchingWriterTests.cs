using System.Collections.Concurrent;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Pipeline;

public sealed class BatchingWriterTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ScriptedSender _sender;
    private readonly RecordingDeadLetters _deadLetters = new();
    private readonly TestMeterFactory _meters = new();
    private readonly BufferBudget _budget = new(10_000_000);
    private BatchingWriter? _writer;

    public BatchingWriterTests() => _sender = new ScriptedSender { Time = _time };

    // Opens once 2 sends in 10 s failed; probes after 5 s.
    private static readonly CircuitSettings Breaker = new(0.5, 2, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));

    private BatchingWriter Start(int maxRecords = 10, long maxBytes = 1_000_000, int maxAttempts = 3, int maxInFlight = 4, CircuitSettings? circuit = null, BufferBudget? budget = null)
    {
        var settings = new BatchingSettings(maxRecords, maxBytes, TimeSpan.FromSeconds(1), maxInFlight, 10_000, maxAttempts, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), circuit);
        _writer = new BatchingWriter("t", _sender, settings, budget ?? _budget, _deadLetters, new IngestMetrics(_meters), _time, NullLogger.Instance, jitter: () => 0.5);
        _writer.Start();
        return _writer;
    }

    private static IngestEvent Event(int size = 10) => new()
    {
        Id = Guid.CreateVersion7(),
        ReceivedAtMs = 0,
        RouteKey = "POST /e",
        Body = new byte[size],
    };

    [Fact]
    public async Task Full_batches_go_at_once_and_the_rest_after_the_linger()
    {
        var writer = Start(maxRecords: 10);
        for (var i = 0; i < 25; i++)
        {
            Assert.Equal(EnqueueResult.Accepted, writer.TryEnqueue(Event()));
        }

        await Until(() => _sender.Batches.Count == 2, advance: false);
        Assert.All(_sender.Batches, b => Assert.Equal(10, b.Count));

        _time.Advance(TimeSpan.FromMilliseconds(999));
        await Task.Yield();
        Assert.Equal(2, _sender.Batches.Count);
        await Until(() => _sender.Batches.Count == 3);
        Assert.Equal(5, _sender.Batches.Last().Count);
    }

    [Fact]
    public async Task Batches_are_cut_at_the_byte_limit()
    {
        var writer = Start(maxRecords: 10, maxBytes: 1000);
        for (var i = 0; i < 9; i++)
        {
            writer.TryEnqueue(Event(300));
        }

        await Until(() => _sender.SentBatches().Sum(b => b.Count) == 9);
        Assert.All(_sender.SentBatches(), b => Assert.True(b.Sum(e => e.WireBytes) <= 1000));
        Assert.Equal(3, _sender.Batches.Count);
    }

    [Fact]
    public async Task Only_failed_entries_are_retried_and_rejected_ones_are_dead_lettered_at_once()
    {
        var writer = Start(maxAttempts: 5);
        var events = Enumerable.Range(0, 10).Select(_ => Event()).ToArray();
        // Entry 3 fails twice, entry 5 is a sender fault, the rest succeed the first time.
        _sender.Script = (e, attempt) => e == events[3] && attempt <= 2 ? EntryOutcome.Retry
            : e == events[5] ? EntryOutcome.Rejected : EntryOutcome.Delivered;
        foreach (var e in events)
        {
            writer.TryEnqueue(e);
        }

        await Until(() => _sender.Delivered.Count == 9);

        Assert.Equal(3, _sender.Batches.Count);
        Assert.Equal(10, _sender.Batches[0].Count);
        Assert.Equal([events[3]], _sender.Batches[1]);
        Assert.Equal([events[3]], _sender.Batches[2]);
        Assert.All(_sender.Delivered.Values, count => Assert.Equal(1, count));
        var (deadLetter, reason) = Assert.Single(_deadLetters.Items);
        Assert.Same(events[5], deadLetter);
        Assert.Contains("sender fault", reason, StringComparison.Ordinal);
        Assert.Equal(2, _meters.Sum("ingest_events_retried"));
        Assert.Equal(9, _meters.Sum("ingest_events_delivered"));
        Assert.Equal(1, _meters.Sum("ingest_events_dead_lettered"));
    }

    [Fact]
    public async Task Whole_call_failures_retry_every_entry_until_attempts_run_out()
    {
        var writer = Start(maxAttempts: 3);
        _sender.ThrowOnCall = _ => true;
        writer.TryEnqueue(Event());
        writer.TryEnqueue(Event());

        await Until(() => _deadLetters.Items.Count == 2);

        Assert.Equal(3, _sender.Calls);
        Assert.All(_deadLetters.Items, d => Assert.Contains("retries exhausted after 3 attempts", d.Reason, StringComparison.Ordinal));
        Assert.Equal(0, _budget.UsedBytes);
    }

    [Fact]
    public async Task Budget_is_held_while_queued_and_released_once_delivered()
    {
        _sender.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = Start();
        writer.TryEnqueue(Event(1000));

        Assert.True(_budget.UsedBytes >= 1000);
        _sender.Gate.SetResult();
        await Until(() => _budget.UsedBytes == 0);
    }

    [Fact]
    public void Full_budget_refuses_and_oversized_events_are_too_large()
    {
        var small = new BufferBudget(500);
        var settings = new BatchingSettings(10, 1_000_000, TimeSpan.FromSeconds(1), 1, 100, 3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        _writer = new BatchingWriter("t", _sender, settings, small, _deadLetters, new IngestMetrics(_meters), _time, NullLogger.Instance);

        Assert.Equal(EnqueueResult.Accepted, _writer.TryEnqueue(Event(100)));
        Assert.Equal(EnqueueResult.Full, _writer.TryEnqueue(Event(100)));
        Assert.Equal(EnqueueResult.TooLarge, _writer.TryEnqueue(Event(ScriptedSender.MaxRecordBytes + 1)));
    }

    [Fact]
    public async Task Drain_sends_what_is_queued_and_then_refuses()
    {
        var writer = Start();
        for (var i = 0; i < 5; i++)
        {
            writer.TryEnqueue(Event());
        }

        await writer.DrainAsync(CancellationToken.None);

        Assert.Equal(5, _sender.Delivered.Count);
        Assert.Equal(EnqueueResult.Closed, writer.TryEnqueue(Event()));
    }

    [Fact]
    public async Task Drain_out_of_time_spills_what_is_left_instead_of_losing_it()
    {
        _sender.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = Start(maxRecords: 2, maxInFlight: 1);
        for (var i = 0; i < 6; i++)
        {
            writer.TryEnqueue(Event());
        }
        using var deadline = new CancellationTokenSource();
        await deadline.CancelAsync();

        await writer.DrainAsync(deadline.Token);

        Assert.Equal(6, _deadLetters.Items.Count);
        Assert.All(_deadLetters.Items, d => Assert.Equal("shutdown before delivery", d.Reason));
    }

    [Fact]
    public async Task Retry_delays_grow_exponentially_up_to_the_cap()
    {
        var writer = Start(maxAttempts: 8);
        _sender.ThrowOnCall = _ => true;
        writer.TryEnqueue(Event());

        await Until(() => _deadLetters.Items.Count == 1);

        // Polly's exponential backoff with jitter (fixed here) on the fake clock: 100 ms base, 1 s cap.
        var gaps = _sender.CallTimes.Zip(_sender.CallTimes.Skip(1), (a, b) => (b - a).TotalMilliseconds).ToArray();
        Assert.Equal(7, gaps.Length);
        var shown = string.Join(", ", gaps);
        Assert.True(gaps[2] > gaps[0] && gaps[4] > gaps[2], shown);
        Assert.All(gaps, gap => Assert.InRange(gap, 1, 1000 + 100));
        Assert.InRange(gaps[^1], 1000, 1000 + 100);
    }

    [Fact]
    public async Task Open_circuit_stops_sends_without_using_up_attempts_and_a_good_probe_closes_it()
    {
        var writer = Start(maxAttempts: 3, maxInFlight: 1, circuit: Breaker);
        _sender.ThrowOnCall = _ => true;
        var events = Enumerable.Range(0, 3).Select(_ => Event()).ToArray();
        foreach (var e in events)
        {
            writer.TryEnqueue(e);
        }

        await Until(() => writer.Circuit == BreakerState.Open);
        var callsWhenOpened = _sender.Calls;
        Assert.Equal(2, callsWhenOpened);
        Assert.All(events, e => Assert.Equal(1, e.Attempts));
        for (var i = 0; i < 8; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(10);
        }
        Assert.Equal(callsWhenOpened, _sender.Calls);

        // The first probe fails: open again, still no attempt used up.
        await Until(() => _sender.Calls == callsWhenOpened + 1);
        await Until(() => writer.Circuit == BreakerState.Open);
        Assert.Empty(_deadLetters.Items);
        Assert.All(events, e => Assert.Equal(1, e.Attempts));

        _sender.ThrowOnCall = _ => false;
        await Until(() => _sender.Delivered.Count == 3);
        Assert.Equal(BreakerState.Closed, writer.Circuit);
        Assert.Empty(_deadLetters.Items);
        Assert.Equal(3, _meters.Sum("ingest_events_delivered"));
    }

    [Fact]
    public async Task While_the_circuit_is_open_queued_events_wait_until_the_budget_refuses_new_ones()
    {
        var budget = new BufferBudget(20 * BufferBudget.SizeOf(Event(100)));
        var writer = Start(maxRecords: 2, maxInFlight: 1, circuit: Breaker, budget: budget);
        _sender.ThrowOnCall = _ => true;
        writer.TryEnqueue(Event(100));
        await Until(() => writer.Circuit == BreakerState.Open);

        var accepted = 1;
        while (writer.TryEnqueue(Event(100)) == EnqueueResult.Accepted)
        {
            accepted++;
        }

        Assert.Equal(20, accepted);
        Assert.Equal(EnqueueResult.Full, writer.TryEnqueue(Event(100)));
        _sender.ThrowOnCall = _ => false;
        await Until(() => _sender.Delivered.Count == 20);
        Assert.Equal(0, budget.UsedBytes);
        Assert.Empty(_deadLetters.Items);
    }

    [Fact]
    public async Task Sender_faults_are_dead_lettered_at_once_even_while_the_circuit_counts_failures()
    {
        var writer = Start(maxAttempts: 5, circuit: Breaker);
        _sender.Script = (_, _) => EntryOutcome.Rejected;
        writer.TryEnqueue(Event());
        writer.TryEnqueue(Event());

        await Until(() => _deadLetters.Items.Count == 2);

        Assert.Equal(1, _sender.Calls);
        Assert.All(_deadLetters.Items, d => Assert.Equal(1, d.Event.Attempts));
        Assert.Equal(BreakerState.Closed, writer.Circuit);
    }

    [Fact]
    public async Task Drain_while_the_circuit_is_open_spills_what_waits_when_time_runs_out()
    {
        var writer = Start(maxRecords: 2, maxInFlight: 1, circuit: Breaker);
        _sender.ThrowOnCall = _ => true;
        for (var i = 0; i < 5; i++)
        {
            writer.TryEnqueue(Event());
        }
        await Until(() => writer.Circuit == BreakerState.Open);
        using var deadline = new CancellationTokenSource();
        var drain = writer.DrainAsync(deadline.Token);
        Assert.False(drain.IsCompleted);

        await deadline.CancelAsync();
        await drain;

        Assert.Equal(5, _deadLetters.Items.Count);
        Assert.All(_deadLetters.Items, d => Assert.Equal("shutdown before delivery", d.Reason));
        Assert.Equal(0, _budget.UsedBytes);
    }

    [Fact]
    public async Task Circuit_state_is_exported_per_target()
    {
        var writer = Start(maxInFlight: 1, circuit: Breaker);
        var metrics = new IngestMetrics(_meters);
        CircuitStateGauge.Observe(metrics, new Dictionary<string, IEventTarget> { ["t"] = writer });
        Assert.Equal(0, ReadGauge());

        _sender.ThrowOnCall = _ => true;
        writer.TryEnqueue(Event());
        await Until(() => writer.Circuit == BreakerState.Open);

        Assert.Equal(2, ReadGauge());
        _sender.ThrowOnCall = _ => false;
        await Until(() => writer.Circuit == BreakerState.Closed && _sender.Delivered.Count == 1);
        Assert.Equal(0, ReadGauge());
    }

    private static long ReadGauge()
    {
        long? value = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == CircuitStateGauge.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "target" && (string?)tag.Value == "t")
                {
                    value = measurement;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value ?? throw new InvalidOperationException("gauge not exported");
    }

    /// <summary>Polls, advancing the fake clock so linger and backoff timers fire.</summary>
    private async Task Until(Func<bool> condition, bool advance = true)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            if (advance)
            {
                _time.Advance(TimeSpan.FromMilliseconds(50));
            }
            await Task.Delay(5);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _sender.Gate?.TrySetResult();
        if (_writer is not null)
        {
            await _writer.DrainAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        }
        _meters.Dispose();
    }

    private sealed class ScriptedSender : IBatchSender
    {
        public const int MaxRecordBytes = 100_000;
        private readonly ConcurrentDictionary<IngestEvent, int> _attempts = new();
        private int _calls;

        public Func<IngestEvent, int, EntryOutcome> Script { get; set; } = (_, _) => EntryOutcome.Delivered;
        public Func<int, bool> ThrowOnCall { get; set; } = _ => false;
        public TaskCompletionSource? Gate { get; set; }
        public List<List<IngestEvent>> Batches { get; } = [];

        /// <summary>A copy of <see cref="Batches"/>, safe to enumerate while sends go on.</summary>
        public List<List<IngestEvent>> SentBatches()
        {
            lock (Batches)
            {
                return [.. Batches];
            }
        }
        public ConcurrentDictionary<Guid, int> Delivered { get; } = new();
        public ConcurrentQueue<DateTimeOffset> CallTimes { get; } = new();
        public TimeProvider Time { get; set; } = TimeProvider.System;
        public int Calls => _calls;

        public BatchLimits Limits => new(10, 1_000_000, MaxRecordBytes);

        public int MeasureWireBytes(IngestEvent e) => e.Body.Length;

        public async Task SendAsync(IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, CancellationToken cancellationToken)
        {
            if (Gate is not null)
            {
                await Gate.Task.WaitAsync(cancellationToken);
            }
            var call = Interlocked.Increment(ref _calls);
            CallTimes.Enqueue(Time.GetUtcNow());
            lock (Batches)
            {
                Batches.Add([.. batch]);
            }
            if (ThrowOnCall(call))
            {
                throw new HttpRequestException("throttled");
            }
            for (var i = 0; i < batch.Count; i++)
            {
                var attempt = _attempts.AddOrUpdate(batch[i], 1, (_, n) => n + 1);
                outcomes[i] = Script(batch[i], attempt);
                if (outcomes[i] == EntryOutcome.Delivered)
                {
                    Delivered.AddOrUpdate(batch[i].Id, 1, (_, n) => n + 1);
                }
            }
        }
    }

    private sealed class RecordingDeadLetters : IDeadLetterSink
    {
        public List<(IngestEvent Event, string Reason)> Items { get; } = [];

        public void DeadLetter(IReadOnlyList<IngestEvent> events, string reason)
        {
            lock (Items)
            {
                Items.AddRange(events.Select(e => (e, reason)));
            }
        }
    }
}
