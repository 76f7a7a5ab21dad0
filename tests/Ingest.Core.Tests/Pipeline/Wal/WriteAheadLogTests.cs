using System.Collections.Concurrent;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Wal;
using Ingest.TestSupport.Wal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Core.Tests.Pipeline.Wal;

public sealed class WriteAheadLogTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly string _directory = Directory.CreateTempSubdirectory("ingest-wal-test-").FullName;
    private readonly TestMeterFactory _meters = new();
    private readonly IngestMetrics _metrics;
    private readonly RecordingWalFileSystem _files = new();

    public WriteAheadLogTests() => _metrics = new IngestMetrics(_meters);

    private WriteAheadLog Open(long maxBytes = 1 << 30, long segmentBytes = 64 << 20) =>
        WriteAheadLog.Open(new WalSettings(_directory, maxBytes, segmentBytes), _files, _metrics, NullLogger.Instance);

    private static IngestEvent Event(int bodyBytes = 100, int n = 0) => new()
    {
        Id = Guid.CreateVersion7(),
        ReceivedAtMs = 1_764_000_000_000 + n,
        RouteKey = "POST /v1/events",
        ContentType = "application/json",
        Headers = [new("x-n", n.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        Body = Enumerable.Range(0, bodyBytes).Select(i => (byte)(i + n)).ToArray(),
        Delivered = new TaskCompletionSource<bool>(),
    };

    private static Task Append(WriteAheadLog wal, IngestEvent e, string target = "q")
    {
        Assert.Equal(EnqueueResult.Accepted, wal.TryAppend(e, target, out var committed));
        return committed;
    }

    private string[] Segments() => Directory.GetFiles(_directory, "*.wal").Order().ToArray();

    [Fact]
    public async Task Commit_completes_only_after_the_flush_that_covers_the_record()
    {
        await using var wal = Open();
        _files.HoldFlushes();
        var e = Event();

        var committed = Append(wal, e);
        await Poll(() => _files.FlushesWaiting == 1);

        // The writer is inside fsync: the record is written but not durable, so not committed.
        Assert.False(committed.IsCompleted);
        var write = _files.WriteHolding(e.Id);
        Assert.NotNull(write);
        Assert.Equal(long.MaxValue, write.FlushedAt);

        _files.ReleaseFlushes();
        await committed.WaitAsync(Deadline);
        var acknowledgedAt = _files.Tick();
        Assert.True(write.FlushedAt < acknowledgedAt);
        Assert.Equal(1, _meters.Sum("ingest_wal_fsyncs"));
    }

    [Fact]
    public async Task Appends_that_arrive_during_an_fsync_share_the_next_one()
    {
        await using var wal = Open();
        _files.HoldFlushes();
        var first = Append(wal, Event());
        await Poll(() => _files.FlushesWaiting == 1);

        var rest = Enumerable.Range(0, 200).Select(i => Append(wal, Event(n: i))).ToArray();
        _files.ReleaseFlushes();
        await Task.WhenAll(rest.Append(first)).WaitAsync(Deadline);

        Assert.Equal(2, _meters.Sum("ingest_wal_fsyncs"));
        Assert.True(rest.All(t => ReferenceEquals(t, rest[0])), "one group commit for all");
    }

    [Fact]
    public async Task Events_without_a_done_marker_are_replayed_with_their_ids_and_bytes_after_a_restart()
    {
        var events = Enumerable.Range(0, 50).Select(i => Event(bodyBytes: 10 + i, n: i)).ToList();
        await using (var wal = Open())
        {
            await Task.WhenAll(events.Select(e => Append(wal, e, i(e) % 2 == 0 ? "even" : "odd")));
            // Delivered and dead-lettered events are done; the rest is not.
            for (var k = 0; k < 20; k++)
            {
                events[k].Delivered!.TrySetResult(k % 3 != 0);
            }
        }
        static int i(IngestEvent e) => int.Parse(e.Headers[0].Value, System.Globalization.CultureInfo.InvariantCulture);

        await using var reopened = Open();
        Assert.Equal(30, reopened.ToReplay);
        var even = new ListTarget("even");
        var odd = new ListTarget("odd");
        var requeued = await reopened.ReplayAsync(name => name == "even" ? even : odd, _ => throw new InvalidOperationException("no orphans expected"), TimeProvider.System, CancellationToken.None);

        Assert.Equal(30, requeued);
        var replayed = even.Events.Concat(odd.Events).ToDictionary(e => e.Id);
        Assert.Equal(events.Skip(20).Select(e => e.Id).Order(), replayed.Keys.Order());
        foreach (var original in events.Skip(20))
        {
            var back = replayed[original.Id];
            Assert.Equal(original.Body.ToArray(), back.Body.ToArray());
            Assert.Equal(original.Headers, back.Headers);
            Assert.Equal(original.ReceivedAtMs, back.ReceivedAtMs);
            Assert.NotNull(back.Delivered);
        }
        Assert.All(even.Events, e => Assert.Equal(0, i(e) % 2));
        Assert.All(odd.Events, e => Assert.Equal(1, i(e) % 2));
    }

    [Fact]
    public async Task Replayed_events_that_are_delivered_are_not_replayed_again()
    {
        await using (var wal = Open())
        {
            await Task.WhenAll(Enumerable.Range(0, 5).Select(n => Append(wal, Event(n: n))));
        }
        var target = new ListTarget("q");
        await using (var second = Open())
        {
            Assert.Equal(5, await second.ReplayAsync(_ => target, _ => throw new InvalidOperationException(), TimeProvider.System, CancellationToken.None));
            foreach (var e in target.Events.Take(3))
            {
                e.Delivered!.TrySetResult(true);
            }
        }

        await using var third = Open();
        Assert.Equal(2, third.ToReplay);
    }

    [Fact]
    public async Task Segments_whose_events_are_all_done_are_deleted_and_the_bytes_freed()
    {
        await using var wal = Open(segmentBytes: 64 * 1024);
        var events = Enumerable.Range(0, 300).Select(n => Event(bodyBytes: 1000, n: n)).ToList();
        foreach (var chunk in events.Chunk(20))
        {
            await Task.WhenAll(chunk.Select(e => Append(wal, e)));
        }
        var before = Segments();
        Assert.True(before.Length >= 4, $"{before.Length} segments");
        var bytesBefore = wal.DiskBytes;
        Assert.Equal(before.Sum(f => new FileInfo(f).Length), bytesBefore);

        // Done out of order, newest first. The oldest segment still holds a live event, and later
        // segments hold done markers for it: nothing may be deleted before it.
        foreach (var e in events.Skip(1).Reverse())
        {
            e.Delivered!.TrySetResult(true);
        }
        await Poll(() => wal.DiskBytes - bytesBefore >= 299 * 16);
        Assert.All(before, f => Assert.True(File.Exists(f), f));

        events[0].Delivered!.TrySetResult(false);
        // Everything but the segment being appended to goes.
        await Poll(() => Segments().Length == 1 && wal.DiskBytes == new FileInfo(Segments()[0]).Length);
        Assert.DoesNotContain(Segments(), before.Take(before.Length - 1).Contains);
        Assert.True(wal.DiskBytes < bytesBefore);
    }

    [Fact]
    public async Task A_full_log_refuses_appends_until_deliveries_free_space()
    {
        await using var wal = Open(maxBytes: 256 * 1024, segmentBytes: 64 * 1024);
        var accepted = new List<IngestEvent>();
        EnqueueResult result;
        do
        {
            var e = Event(bodyBytes: 4000, n: accepted.Count);
            result = wal.TryAppend(e, "q", out var committed);
            if (result == EnqueueResult.Accepted)
            {
                accepted.Add(e);
                await committed.WaitAsync(Deadline);
            }
        }
        while (result == EnqueueResult.Accepted && accepted.Count < 1000);

        Assert.Equal(EnqueueResult.Full, result);
        Assert.InRange(accepted.Count, 40, 64);
        Assert.True(wal.UsedBytes <= 256 * 1024);

        foreach (var e in accepted)
        {
            e.Delivered!.TrySetResult(true);
        }
        await Poll(() => wal.TryAppend(Event(bodyBytes: 4000), "q", out _) == EnqueueResult.Accepted);
    }

    [Fact]
    public async Task A_torn_tail_is_skipped_logged_and_counted_and_the_records_before_it_replay()
    {
        var events = Enumerable.Range(0, 10).Select(n => Event(n: n)).ToList();
        await using (var wal = Open())
        {
            foreach (var e in events)
            {
                // One write per event, so the tear lands inside the last record.
                await Append(wal, e);
            }
        }
        var segment = Segments().Single();
        var length = new FileInfo(segment).Length;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.SetLength(length - 30);
        }

        await using var reopened = Open();

        Assert.Equal(1, _meters.Sum("ingest_wal_corrupt_records"));
        Assert.Equal(9, reopened.ToReplay);
        var target = new ListTarget("q");
        await reopened.ReplayAsync(_ => target, _ => throw new InvalidOperationException(), TimeProvider.System, CancellationToken.None);
        Assert.Equal(events.Take(9).Select(e => e.Id), target.Events.Select(e => e.Id));
    }

    [Fact]
    public async Task A_damaged_record_stops_its_segment_only_and_a_file_with_a_bad_header_is_skipped()
    {
        var events = Enumerable.Range(0, 6).Select(n => Event(n: n)).ToList();
        await using (var wal = Open())
        {
            foreach (var e in events)
            {
                await Append(wal, e);
            }
        }
        var segment = Segments().Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        // Flip a byte in the body of the fourth event's record.
        var at = bytes.AsSpan().IndexOf(events[3].Id.ToByteArray());
        bytes[at + 60] ^= 0xFF;
        await File.WriteAllBytesAsync(segment, bytes);
        await File.WriteAllTextAsync(Path.Combine(_directory, "0000000000000000.wal"), "not a segment");

        await using var reopened = Open();

        Assert.Equal(2, _meters.Sum("ingest_wal_corrupt_records"));
        Assert.Equal(3, reopened.ToReplay);
        // The unreadable file held nothing to replay and is gone; the new segment follows the damaged one.
        Assert.Equal([segment, Path.Combine(_directory, "0000000000000002.wal")], Segments());
    }

    [Fact]
    public async Task A_failed_fsync_fails_the_commit_and_the_log_recovers_in_a_new_segment()
    {
        await using var wal = Open();
        _files.FailFlushes = true;

        var failed = Append(wal, Event());
        var error = await Assert.ThrowsAsync<IOException>(() => failed.WaitAsync(Deadline));
        Assert.Contains("injected", error.Message);
        Assert.NotNull(wal.LastError);

        _files.FailFlushes = false;
        await Append(wal, Event()).WaitAsync(Deadline);
        Assert.Null(wal.LastError);
        Assert.Equal(2, Segments().Length);
    }

    [Fact]
    public async Task Replay_waits_while_the_target_is_full_and_spills_events_of_removed_targets()
    {
        await using (var wal = Open())
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(n => Append(wal, Event(n: n), n < 3 ? "q" : "gone")));
        }
        var target = new ListTarget("q") { RefuseFirst = 5 };
        var spilled = new ConcurrentBag<IngestEvent>();

        await using (var reopened = Open())
        {
            var requeued = await reopened.ReplayAsync(
                name => name == "q" ? target : null,
                _ => new SpillSink(spilled),
                TimeProvider.System,
                CancellationToken.None);
            Assert.Equal(3, requeued);
        }

        Assert.Equal(3, target.Events.Count);
        Assert.Single(spilled);
        // The spilled event is done; the re-queued ones are not delivered yet.
        await using var third = Open();
        Assert.Equal(3, third.ToReplay);
    }

    private static async Task Poll(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(5);
        }
    }

    public void Dispose()
    {
        _meters.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class ListTarget(string name) : IEventTarget
    {
        public ConcurrentQueue<IngestEvent> EventQueue { get; } = new();

        public List<IngestEvent> Events => [.. EventQueue];

        public int RefuseFirst { get; set; }

        public string Name { get; } = name;

        public int QueuedCount => EventQueue.Count;

        public EnqueueResult TryEnqueue(IngestEvent e)
        {
            if (RefuseFirst > 0)
            {
                RefuseFirst--;
                return EnqueueResult.Full;
            }
            EventQueue.Enqueue(e);
            return EnqueueResult.Accepted;
        }

        public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class SpillSink(ConcurrentBag<IngestEvent> spilled) : IDeadLetterSink
    {
        public void DeadLetter(IReadOnlyList<IngestEvent> events, string reason)
        {
            foreach (var e in events)
            {
                spilled.Add(e);
            }
        }
    }
}
