using System.Runtime.InteropServices;
using Ingest.Core.Events;

namespace Ingest.Core.Pipeline;

/// <summary>
/// Bytes of all queued events together (<c>memory.bufferBytes</c>). A reservation that would go
/// over the limit fails, so the client gets 503 instead of the process growing without bound.
/// An event is charged what it holds on the heap while queued (<see cref="SizeOf"/>), not just its
/// body, so a buffer of small events fills at the same memory as one of large events.
/// </summary>
public sealed class BufferBudget(long limitBytes)
{
    // 64-bit object sizes. An IngestEvent (header, id, time, six references, body slice, two ints)
    // is 112 bytes; its slot in the channel's ring buffer 8, up to 16 just after the ring doubled;
    // 8 more for what the measurement (QueuedEventFootprintTests) finds beyond these sums.
    private const int EventBytes = 112 + 16 + 8;
    private const int ArrayHeaderBytes = 24;
    private const int StringHeaderBytes = 22;
    private const int HeaderPairBytes = 16;

    // TaskCompletionSource<bool> and its Task<bool> (ack: delivered).
    private const int CompletionBytes = 24 + 72;

    private long _used;
    private long _deadInGen2;
    private int _gen2Collections;

    public long LimitBytes { get; } = limitBytes;

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
    /// since its last collection, a gen2 collection runs (in the background where background GC is
    /// on). Events that die young, the normal case with a healthy backend, start none.
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
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: false);
        }
    }

    private static long StringBytes(string? s) => s is null ? 0 : Align(StringHeaderBytes + (2L * s.Length));

    private static long Align(long bytes) => (bytes + 7) & ~7L;
}
