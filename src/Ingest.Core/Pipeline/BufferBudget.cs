namespace Ingest.Core.Pipeline;

/// <summary>
/// Bytes of all queued events together (<c>memory.bufferBytes</c>). A reservation that would go
/// over the limit fails, so the client gets 503 instead of the process growing without bound.
/// </summary>
public sealed class BufferBudget(long limitBytes)
{
    private long _used;

    public long LimitBytes { get; } = limitBytes;

    public long UsedBytes => Volatile.Read(ref _used);

    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= LimitBytes)
        {
            return true;
        }
        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
