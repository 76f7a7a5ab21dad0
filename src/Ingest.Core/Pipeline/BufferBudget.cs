using System.Runtime.InteropServices;
using Ingest.Core.Events;

namespace Ingest.Core.Pipeline;

/// <summary>
/// Bytes of all queued events together (<c>memory.bufferBytes</c>). A reservation that would go
/// over the limit fails, so the client gets 503 instead of the process growing without bound.
/// An event is charged what it holds on the heap while queued (<see cref="SizeOf"/>), not just its
/// body, so a buffer of small events fills at the same memory as one of large events.
/// </summary>
public sealed class BufferBudget
{
    /// <summary>Shortest time between two compactions while the buffer stays full.</summary>
    public static readonly TimeSpan CompactionInterval = TimeSpan.FromSeconds(5);

    // 64-bit object sizes. An IngestEvent (header, id, time, six references, body slice, two ints)
    // is 112 bytes; its slot in the channel's ring buffer 8, up to 16 just after the ring doubled;
    // 8 more for what the measurement (QueuedEventFootprintTests) finds beyond these sums.
    private const int EventBytes = 112 + 16 + 8;
    private const int ArrayHeaderBytes = 24;
    private const int StringHeaderBytes = 22;
    private const int HeaderPairBytes = 16;

    // TaskCompletionSource<bool> and its Task<bool> (ack: delivered).
    private const int CompletionBytes = 24 + 72;

    private readonly TimeProvider _time;
    private readonly Action _compact;
    private readonly Action _collectGen2;
    private long _used;
    private long _deadInGen2;
    private int _gen2Collections;
    private long _lastCompaction = long.MinValue;
    private readonly Lock _sendingGate = new();
    private readonly Queue<(long Bytes, TaskCompletionSource Ready)> _waitingToSend = new();
    private long _sending;

    public BufferBudget(long limitBytes, TimeProvider? time = null)
        : this(limitBytes, time ?? TimeProvider.System, CompactHeap, CollectGen2)
    {
    }

    /// <summary>With <paramref name="compact"/> and <paramref name="collectGen2"/> instead of the real collections, for tests.</summary>
    internal BufferBudget(long limitBytes, TimeProvider time, Action compact, Action collectGen2)
    {
        LimitBytes = limitBytes;
        _time = time;
        _compact = compact;
        _collectGen2 = collectGen2;
    }

    public long LimitBytes { get; }

    public long UsedBytes => Volatile.Read(ref _used);

    /// <summary>
    /// Heap bytes <paramref name="e"/> holds while queued: the event object and channel slot, the
    /// body (a slice counts its own length), the strings of its envelope (the route key is shared by
    /// every event of a route and not counted), kept headers and the delivery completion.
    /// Allocation-free, and the same value for the same event, so reserve and release match.
    /// </summary>
    public static long SizeOf(IngestEvent e)
    {
        var bytes = EventBytes + Align(ArrayHeaderBytes + (long)e.Body.Length)
            + StringBytes(e.SourceIp) + StringBytes(e.ContentType) + StringBytes(e.TraceParent);
        var headers = e.Headers;
        if (headers.Length > 0)
        {
            bytes += Align(ArrayHeaderBytes + ((long)headers.Length * HeaderPairBytes));
            foreach (var (name, value) in headers)
            {
                bytes += StringBytes(name) + StringBytes(value);
            }
        }
        if (e.Delivered is not null)
        {
            bytes += CompletionBytes;
        }
        return bytes;
    }

    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= LimitBytes)
        {
            return true;
        }
        Interlocked.Add(ref _used, -bytes);
        Full();
        return false;
    }

    /// <summary>
    /// Wire bytes of the batches being sent, all targets together, may be at most an eighth of the
    /// limit (one batch is always let through). A request body is a second copy of its events, on
    /// top of the queued events: without this, a backend coming back after an outage meets eight
    /// 5 MiB Kinesis requests per target at once, while the buffer is still full.
    /// </summary>
    public long SendingLimitBytes => LimitBytes / 8;

    /// <summary>Wire bytes of the batches being sent now.</summary>
    public long SendingBytes
    {
        get
        {
            lock (_sendingGate)
            {
                return _sending;
            }
        }
    }

    /// <summary>Waits until a batch of <paramref name="wireBytes"/> may be sent (first come, first served); pair with <see cref="DoneSending"/>.</summary>
    public Task StartSendingAsync(long wireBytes, CancellationToken cancellationToken)
    {
        lock (_sendingGate)
        {
            if (_waitingToSend.Count == 0 && MaySend(wireBytes))
            {
                _sending += wireBytes;
                return Task.CompletedTask;
            }
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waitingToSend.Enqueue((wireBytes, ready));
            if (cancellationToken.CanBeCanceled)
            {
                // A cancelled waiter stays queued; DoneSending skips it without charging its bytes.
                cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetCanceled(), ready);
            }
            return ready.Task;
        }
    }

    /// <summary>A batch of <paramref name="wireBytes"/> is no longer being sent: lets waiting batches go.</summary>
    public void DoneSending(long wireBytes)
    {
        lock (_sendingGate)
        {
            _sending -= wireBytes;
            while (_waitingToSend.TryPeek(out var next) && (next.Ready.Task.IsCompleted || MaySend(next.Bytes)))
            {
                _waitingToSend.Dequeue();
                if (next.Ready.TrySetResult())
                {
                    _sending += next.Bytes;
                }
            }
        }
    }

    private bool MaySend(long wireBytes) => _sending == 0 || _sending + wireBytes <= SendingLimitBytes;

    /// <summary>Whether <paramref name="bytes"/> more fit now; when not, the buffer is full (see <see cref="Full"/>).</summary>
    public bool HasRoomFor(long bytes)
    {
        if (UsedBytes + bytes <= LimitBytes)
        {
            return true;
        }
        Full();
        return false;
    }

    /// <summary>Reserves <see cref="SizeOf"/> of <paramref name="e"/>.</summary>
    public bool TryReserve(IngestEvent e) => TryReserve(SizeOf(e));

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);

    /// <summary>Releases what <see cref="TryReserve(IngestEvent)"/> reserved for <paramref name="e"/>.</summary>
    public void Release(IngestEvent e)
    {
        var bytes = SizeOf(e);
        Release(bytes);
        if (MemoryMarshal.TryGetArray(e.Body, out var body) && body.Array is { } array && GC.GetGeneration(array) == GC.MaxGeneration)
        {
            DiedInGen2(bytes);
        }
    }

    /// <summary>
    /// Queued events outlive several young collections and die in gen2, which the GC collects only
    /// once gen2 has grown by about its live size again: while a backlog drains under load the heap
    /// would hold the buffer about twice. Once events worth a quarter of the limit have died in gen2
    /// since its last collection, a blocking, compacting gen2 collection runs: it returns their
    /// memory at once (a background one let RSS climb while it ran: SQS catch-up peaks 156 instead
    /// of 145 MiB). Events that die young, the normal case with a healthy backend, start none.
    /// </summary>
    private void DiedInGen2(long bytes)
    {
        var collections = GC.CollectionCount(GC.MaxGeneration);
        if (collections != Volatile.Read(ref _gen2Collections))
        {
            Volatile.Write(ref _gen2Collections, collections);
            Interlocked.Exchange(ref _deadInGen2, 0);
        }
        var threshold = LimitBytes / 4;
        if (Interlocked.Add(ref _deadInGen2, bytes) >= threshold && Interlocked.Exchange(ref _deadInGen2, 0) >= threshold)
        {
            _collectGen2();
        }
    }

    /// <summary>
    /// The buffer is full: clients get 503 until the backend takes events again. The heap is at its
    /// largest now, and the GC keeps tens of MiB committed beyond what is live (young-generation
    /// budgets, regions freed by promoting the queued events) that answering 503s does not need.
    /// A compacting collection that returns free memory to the OS runs on the thread pool, at most
    /// once per <see cref="CompactionInterval"/> while the buffer stays full (also during a
    /// catch-up, where it returns what the dying events held: skipping it there raised the peaks).
    /// Backend down, 64 MiB buffer: RSS during the outage 123-125 instead of 136-155 MiB; each
    /// compaction pauses ~50 ms.
    /// </summary>
    private void Full()
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastCompaction);
        if ((last != long.MinValue && _time.GetElapsedTime(last, now) < CompactionInterval)
            || Interlocked.CompareExchange(ref _lastCompaction, now, last) != last)
        {
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static compact => compact(), _compact, preferLocal: false);
    }

    private static void CollectGen2() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);

    private static void CompactHeap() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    private static long StringBytes(string? s) => s is null ? 0 : Align(StringHeaderBytes + (2L * s.Length));

    private static long Align(long bytes) => (bytes + 7) & ~7L;
}
