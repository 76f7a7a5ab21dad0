using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Pipeline.Wal;

/// <summary>Write-ahead log settings with defaults applied.</summary>
/// <param name="Directory">Where the segment files live (<c>wal.path</c>).</param>
/// <param name="MaxBytes">Cap on all segments together (<c>wal.maxBytes</c>); beyond it appends are refused.</param>
/// <param name="SegmentBytes">A segment is closed and a new one started past this size (<c>wal.segmentBytes</c>).</param>
public sealed record WalSettings(string Directory, long MaxBytes, long SegmentBytes);

/// <summary>
/// The write-ahead log of <c>ack: durable</c> routes. Every event is one record in an append-only
/// segment file; one writer loop writes what many requests appended and makes it durable with a
/// single fsync (group commit), then completes the task those requests await before answering 202.
/// When an event is delivered or dead-lettered (its <see cref="IngestEvent.Delivered"/> completes)
/// a done marker follows; segments whose events are all done are deleted, oldest first. At start,
/// events without a done marker are handed back (<see cref="ReplayAsync"/>) with their ids.
/// A torn or damaged tail is skipped, logged and counted, never fatal.
/// </summary>
public sealed partial class WriteAheadLog : IAsyncDisposable
{
    internal const string SegmentSuffix = ".wal";

    private readonly WalSettings _settings;
    private readonly IWalFileSystem _files;
    private readonly IngestMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    // Appends and done markers in arrival order, taken as a whole by the writer loop.
    private List<Pending> _pending = [];
    private List<Pending>? _spare = [];
    private int _pendingEvents;
    private TaskCompletionSource _group = NewGroup();
    private bool _closed;

    // Writer loop only (and Open, before the loop starts).
    private readonly List<Segment> _segments = [];
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly List<Guid> _doneIds = [];
    private readonly List<Segment> _replaySegments = [];
    private Segment? _active;
    private long _nextSequence = 1;

    private long _usedBytes;
    private long _diskBytes;
    private volatile string? _lastError;
    private Task _loop = Task.CompletedTask;

    private WriteAheadLog(WalSettings settings, IWalFileSystem files, IngestMetrics metrics, ILogger logger)
    {
        _settings = settings;
        _files = files;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Bytes of all segment files on disk.</summary>
    public long DiskBytes => Interlocked.Read(ref _diskBytes);

    /// <summary>Bytes on disk plus bytes appended and not yet written: what the cap is checked against.</summary>
    public long UsedBytes => Interlocked.Read(ref _usedBytes);

    public WalSettings Settings => _settings;

    /// <summary>Null while the last write and fsync succeeded; otherwise what failed.</summary>
    public string? LastError => _lastError;

    /// <summary>Events found at start without a done marker (what <see cref="ReplayAsync"/> hands back).</summary>
    public int ToReplay { get; private set; }

    /// <summary>
    /// Opens the log in <see cref="WalSettings.Directory"/>: reads the segments there (events and
    /// done markers; a bad tail is logged, counted and skipped), deletes those with nothing left to
    /// replay, starts a new segment and the writer loop. Throws when the directory is not writable.
    /// </summary>
    public static WriteAheadLog Open(WalSettings settings, IWalFileSystem files, IngestMetrics metrics, ILogger logger)
    {
        files.CreateDirectory(settings.Directory);
        var log = new WriteAheadLog(settings, files, metrics, logger);
        log.Scan();
        log.DeleteFinishedSegments();
        log.ActiveSegment();
        metrics.ObserveGauge("ingest_wal_bytes", log.ObserveBytes, "Bytes held in the write-ahead log.");
        log._loop = Task.Run(log.RunAsync);
        return log;
    }

    /// <summary>
    /// Appends a durable event (its <see cref="IngestEvent.Delivered"/> must be set: its completion
    /// writes the done marker). <paramref name="committed"/> completes once the record is on disk,
    /// and faults when the write or fsync failed. <see cref="EnqueueResult.Full"/> when the cap
    /// (<c>wal.maxBytes</c>) would be passed.
    /// </summary>
    public EnqueueResult TryAppend(IngestEvent e, string target, out Task committed)
    {
        committed = Task.CompletedTask;
        var delivered = e.Delivered ?? throw new ArgumentException("A durable event needs a Delivered completion.", nameof(e));
        var bytes = WalCodec.EventRecordLength(e, target);
        if (Interlocked.Add(ref _usedBytes, bytes) > _settings.MaxBytes)
        {
            Interlocked.Add(ref _usedBytes, -bytes);
            return EnqueueResult.Full;
        }
        var entry = new WalEntry(this, e.Id, target) { Event = e, Bytes = bytes };
        lock (_gate)
        {
            if (_closed)
            {
                Interlocked.Add(ref _usedBytes, -bytes);
                return EnqueueResult.Closed;
            }
            _pending.Add(new Pending(entry, Done: false));
            _pendingEvents++;
            committed = _group.Task;
        }
        _wake.Writer.TryWrite(0);
        // Attached after the record is queued, so the done marker always follows it.
        _ = delivered.Task.ContinueWith(
            static (_, state) => ((WalEntry)state!).Log.MarkDone((WalEntry)state!),
            entry,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return EnqueueResult.Accepted;
    }

    /// <summary>
    /// Hands every event found at start without a done marker back to its target (by name), with
    /// its original id, waiting while the target is full. Events whose target no longer exists,
    /// or that it refuses for good, go to <paramref name="orphans"/> (a spill file) and are done.
    /// Returns how many events were re-queued.
    /// </summary>
    public async Task<int> ReplayAsync(
        Func<string, IEventTarget?> targets,
        Func<string, IDeadLetterSink> orphans,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var requeued = 0;
        foreach (var segment in _replaySegments)
        {
            if (segment.ReplayIds is not { Count: > 0 } ids)
            {
                continue;
            }
            using (var reader = new WalSegmentReader(_files.OpenRead(segment.Path)))
            {
                if (reader.TryReadHeader(out _))
                {
                    while (ids.Count > 0 && reader.TryRead(out var payload))
                    {
                        if (WalCodec.Kind(payload.Span) != WalRecordKind.Event || !ids.Remove(WalCodec.EventId(payload.Span)))
                        {
                            continue;
                        }
                        var delivered = new TaskCompletionSource<bool>();
                        var e = WalCodec.ReadEvent(payload.Span, delivered, out var target);
                        var entry = new WalEntry(this, e.Id, target) { Segment = segment };
                        _ = delivered.Task.ContinueWith(
                            static (_, state) => ((WalEntry)state!).Log.MarkDone((WalEntry)state!),
                            entry,
                            CancellationToken.None,
                            TaskContinuationOptions.ExecuteSynchronously,
                            TaskScheduler.Default);
                        if (await RequeueAsync(e, targets(target), timeProvider, cancellationToken))
                        {
                            requeued++;
                        }
                        else
                        {
                            LogOrphan(_logger, e.Id, target);
                            orphans(target).DeadLetter([e], $"replayed from the write-ahead log, target '{target}' cannot take it");
                            delivered.TrySetResult(false);
                        }
                    }
                }
            }
            // Counted at start but unreadable now (the file changed under us): nothing to replay.
            foreach (var id in ids)
            {
                MarkDone(new WalEntry(this, id, "") { Segment = segment });
            }
            ids.Clear();
        }
        _replaySegments.Clear();
        return requeued;
    }

    private static async Task<bool> RequeueAsync(IngestEvent e, IEventTarget? target, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        while (target is not null)
        {
            switch (target.TryEnqueue(e))
            {
                case EnqueueResult.Accepted:
                    return true;
                case EnqueueResult.Full:
                    // Replay may hold more than the memory buffer: wait for deliveries to make room.
                    await Task.Delay(TimeSpan.FromMilliseconds(10), timeProvider, cancellationToken);
                    break;
                default:
                    return false;
            }
        }
        return false;
    }

    private void MarkDone(WalEntry entry)
    {
        lock (_gate)
        {
            if (_closed)
            {
                // After shutdown: the event is replayed at next start (a duplicate, never a loss).
                return;
            }
            _pending.Add(new Pending(entry, Done: true));
        }
        _wake.Writer.TryWrite(0);
    }

    private async Task RunAsync()
    {
        var reader = _wake.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            reader.TryRead(out _);
            // Requests already running reach the log first: under load one fsync covers many of them.
            await Task.Yield();
            WriteGroup();
        }
        WriteGroup();
    }

    /// <summary>Writes everything pending, fsyncs when it holds events, completes their commit task.</summary>
    private void WriteGroup()
    {
        List<Pending> items;
        TaskCompletionSource? group = null;
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return;
            }
            items = _pending;
            _pending = _spare ?? [];
            _spare = null;
            if (_pendingEvents > 0)
            {
                group = _group;
                _group = NewGroup();
                _pendingEvents = 0;
            }
        }
        long reserved = 0;
        var written = false;
        try
        {
            Segment? segment = null;
            Exception? noSegment = null;
            try
            {
                segment = ActiveSegment();
            }
            catch (Exception ex)
            {
                noSegment = ex;
            }
            _buffer.ResetWrittenCount();
            foreach (var item in CollectionsMarshal.AsSpan(items))
            {
                var entry = item.Entry;
                if (item.Done)
                {
                    // Counted even if the marker cannot be written: the event is done either way.
                    if (entry.Segment is { } of)
                    {
                        of.Live--;
                    }
                    _doneIds.Add(entry.Id);
                }
                else if (segment is not null)
                {
                    WalCodec.WriteEvent(_buffer, entry.Event!, entry.Target, entry.Bytes);
                    reserved += entry.Bytes;
                    entry.Event = null;
                    entry.Segment = segment;
                    segment.Live++;
                }
                else
                {
                    Interlocked.Add(ref _usedBytes, -entry.Bytes);
                    entry.Event = null;
                }
            }
            if (noSegment is not null)
            {
                throw noSegment;
            }
            if (_doneIds.Count > 0)
            {
                WalCodec.WriteDone(_buffer, CollectionsMarshal.AsSpan(_doneIds));
            }
            segment!.File!.Write(_buffer.WrittenSpan);
            written = true;
            segment.Bytes += _buffer.WrittenCount;
            Interlocked.Add(ref _diskBytes, _buffer.WrittenCount);
            Interlocked.Add(ref _usedBytes, _buffer.WrittenCount - reserved);
            if (group is not null)
            {
                segment.File.Flush();
                _metrics.WalFsyncs.Add(1);
            }
            _lastError = null;
            group?.TrySetResult();
        }
        catch (Exception ex)
        {
            // Never let the loop die: every later request would wait forever.
            if (!written)
            {
                Interlocked.Add(ref _usedBytes, -reserved);
            }
            _lastError = $"{ex.GetType().Name}: {ex.Message}";
            LogWriteFailed(_logger, _active?.Path ?? _settings.Directory, ex.Message);
            // The segment may end in a torn record now: continue in a fresh one.
            CloseActive();
            group?.TrySetException(new IOException($"write-ahead log: {ex.Message}", ex));
        }
        finally
        {
            _doneIds.Clear();
            items.Clear();
            _spare = items;
        }
        DeleteFinishedSegments();
    }

    /// <summary>The segment to append to: a new one when there is none or the current one is full.</summary>
    private Segment ActiveSegment()
    {
        if (_active is { } current && current.Bytes < _settings.SegmentBytes)
        {
            return current;
        }
        CloseActive();
        var sequence = _nextSequence++;
        var path = Path.Combine(_settings.Directory, sequence.ToString("D16", CultureInfo.InvariantCulture) + SegmentSuffix);
        var file = _files.Create(path);
        var segment = new Segment(sequence, path) { File = file, Bytes = WalCodec.SegmentHeaderBytes };
        _segments.Add(segment);
        Interlocked.Add(ref _diskBytes, segment.Bytes);
        Interlocked.Add(ref _usedBytes, segment.Bytes);
        Span<byte> header = stackalloc byte[WalCodec.SegmentHeaderBytes];
        WalCodec.WriteSegmentHeader(header, sequence);
        file.Write(header);
        file.Flush();
        _files.FlushDirectory(_settings.Directory);
        _active = segment;
        return segment;
    }

    private void CloseActive()
    {
        if (_active is { } active)
        {
            active.File?.Dispose();
            active.File = null;
            _active = null;
        }
    }

    /// <summary>
    /// Deletes the oldest segments whose events are all done. Oldest first only: a done marker may sit
    /// in a later segment than its event, so a segment must outlive every older one.
    /// </summary>
    private void DeleteFinishedSegments()
    {
        while (_segments.Count > 0)
        {
            var head = _segments[0];
            if (ReferenceEquals(head, _active) || head.Live > 0)
            {
                return;
            }
            try
            {
                _files.Delete(head.Path);
            }
            catch (IOException ex)
            {
                LogDeleteFailed(_logger, head.Path, ex.Message);
                return;
            }
            _segments.RemoveAt(0);
            Interlocked.Add(ref _diskBytes, -head.Bytes);
            Interlocked.Add(ref _usedBytes, -head.Bytes);
        }
    }

    /// <summary>Reads the segments left by the previous run: which events have no done marker.</summary>
    private void Scan()
    {
        var found = new List<(long Sequence, string Path)>();
        foreach (var path in _files.ListFiles(_settings.Directory, SegmentSuffix))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
            {
                found.Add((sequence, path));
            }
        }
        found.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        var done = new HashSet<Guid>();
        var events = new List<(Segment Segment, List<Guid> Ids)>();
        foreach (var (sequence, path) in found)
        {
            var segment = new Segment(sequence, path);
            var ids = new List<Guid>();
            using (var stream = _files.OpenRead(path))
            using (var reader = new WalSegmentReader(stream))
            {
                segment.Bytes = stream.Length;
                if (reader.TryReadHeader(out _))
                {
                    while (reader.TryRead(out var payload))
                    {
                        try
                        {
                            if (WalCodec.Kind(payload.Span) == WalRecordKind.Event)
                            {
                                // Decoded in full so a sound checksum over a malformed record is caught here, not in replay.
                                ids.Add(WalCodec.ReadEvent(payload.Span, null, out _).Id);
                            }
                            else
                            {
                                WalCodec.ReadDone(payload.Span, done);
                            }
                        }
                        catch (FormatException ex)
                        {
                            reader.Fail(reader.RecordOffset, ex.Message);
                        }
                    }
                }
                if (reader.Problem is { } problem)
                {
                    LogCorrupt(_logger, path, reader.ProblemOffset, problem, segment.Bytes - reader.ProblemOffset);
                    _metrics.WalCorruptRecords.Add(1);
                }
            }
            _segments.Add(segment);
            events.Add((segment, ids));
            Interlocked.Add(ref _diskBytes, segment.Bytes);
            Interlocked.Add(ref _usedBytes, segment.Bytes);
            _nextSequence = Math.Max(_nextSequence, sequence + 1);
        }
        var replay = 0;
        foreach (var (segment, ids) in events)
        {
            var live = ids.Where(id => !done.Contains(id)).ToHashSet();
            segment.Live = live.Count;
            if (live.Count > 0)
            {
                segment.ReplayIds = live;
                _replaySegments.Add(segment);
            }
            replay += live.Count;
        }
        ToReplay = replay;
        if (found.Count > 0)
        {
            LogScanned(_logger, found.Count, _settings.Directory, replay);
        }
    }

    private IEnumerable<Measurement<long>> ObserveBytes() => [new Measurement<long>(DiskBytes)];

    /// <summary>Writes what is pending (done markers included), fsyncs, closes the segment.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
        }
        _wake.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        try
        {
            _active?.File?.Flush();
        }
        catch (IOException ex)
        {
            LogWriteFailed(_logger, _active!.Path, ex.Message);
        }
        CloseActive();
        _metrics.ObserveGauge("ingest_wal_bytes", static () => [new Measurement<long>(0)], "Bytes held in the write-ahead log.");
    }

    private static TaskCompletionSource NewGroup() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly record struct Pending(WalEntry Entry, bool Done);

    private sealed class WalEntry(WriteAheadLog log, Guid id, string target)
    {
        public WriteAheadLog Log { get; } = log;
        public Guid Id { get; } = id;
        public string Target { get; } = target;

        /// <summary>Until written: the event to encode.</summary>
        public IngestEvent? Event { get; set; }

        public int Bytes { get; init; }

        /// <summary>The segment holding the record, once written.</summary>
        public Segment? Segment { get; set; }
    }

    private sealed class Segment(long sequence, string path)
    {
        public long Sequence { get; } = sequence;
        public string Path { get; } = path;
        public IWalFile? File { get; set; }
        public long Bytes { get; set; }

        /// <summary>Events in this segment not yet done.</summary>
        public int Live { get; set; }

        /// <summary>Found at start without a done marker; emptied by replay.</summary>
        public HashSet<Guid>? ReplayIds { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Write-ahead log {Directory}: {Segments} segments from the previous run, {Events} events to replay")]
    private static partial void LogScanned(ILogger logger, int segments, string directory, int events);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write-ahead log segment {Path}: unreadable from byte {Offset} ({Problem}); {Bytes} bytes skipped")]
    private static partial void LogCorrupt(ILogger logger, string path, long offset, string problem, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Write-ahead log {Path}: write failed: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write-ahead log {Path}: could not delete a finished segment: {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write-ahead log replay: event {EventId} for target '{Target}' cannot be re-queued; written to the spill file")]
    private static partial void LogOrphan(ILogger logger, Guid eventId, string target);
}
