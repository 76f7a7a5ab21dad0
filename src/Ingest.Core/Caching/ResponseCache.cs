using Ingest.Core.Integration;

namespace Ingest.Core.Caching;

/// <summary>
/// The response cache of one stage (or of a gateway without stages): in-process, bounded by bytes,
/// least recently used entries evicted first, each entry with its own time to live. Thread-safe;
/// every operation is O(1) under one short lock.
/// </summary>
/// <remarks>
/// Hand-written rather than MemoryCache: MemoryCache compacts in the background by a percentage and
/// refuses entries while over its size limit, where this cache must evict exactly the least
/// recently used bytes, synchronously, and read time from a <see cref="TimeProvider"/>.
/// </remarks>
public sealed class ResponseCache
{
    /// <summary>Bytes counted per entry on top of its key and body (entry, node, result objects).</summary>
    internal const int EntryOverheadBytes = 256;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    // Most recently used first.
    private readonly LinkedList<Entry> _order = new();
    private readonly TimeProvider _time;
    private long _maxBytes;
    private long _bytes;

    /// <param name="stage">Stage name; null for the gateway-wide cache.</param>
    /// <param name="maxBytes">Size limit.</param>
    /// <param name="time">Clock of the TTLs.</param>
    public ResponseCache(string? stage, long maxBytes, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        Stage = stage;
        _maxBytes = maxBytes;
        _time = time;
    }

    /// <summary>Stage name; null for the gateway-wide cache.</summary>
    public string? Stage { get; }

    /// <summary>Size limit in bytes (see <see cref="SizeOf"/>).</summary>
    public long MaxBytes
    {
        get => Volatile.Read(ref _maxBytes);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            lock (_gate)
            {
                _maxBytes = value;
                EvictOver(value);
            }
        }
    }

    /// <summary>Entries held (expired ones included until they are looked up or evicted).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Bytes held.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The entry of <paramref name="key"/> when it is there and not expired; marks it most recently used.</summary>
    public bool TryGet(string key, out IntegrationResult response)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                if (node.Value.Expires > now)
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                    response = node.Value.Response;
                    return true;
                }
                Remove(node);
            }
        }
        response = null!;
        return false;
    }

    /// <summary>
    /// Stores (or replaces) <paramref name="key"/> for <paramref name="ttl"/>, evicting least recently
    /// used entries until it fits. An entry larger than the whole cache is not stored; returns false.
    /// </summary>
    public bool Set(string key, IntegrationResult response, TimeSpan ttl)
    {
        var size = SizeOf(key, response);
        var expires = _time.GetUtcNow() + ttl;
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                Remove(existing);
            }
            if (size > _maxBytes)
            {
                return false;
            }
            EvictOver(_maxBytes - size);
            _entries[key] = _order.AddFirst(new Entry(key, response, size, expires));
            Interlocked.Add(ref _bytes, size);
            return true;
        }
    }

    /// <summary>Removes every entry; returns how many there were.</summary>
    public int Flush()
    {
        lock (_gate)
        {
            var count = _entries.Count;
            _entries.Clear();
            _order.Clear();
            Interlocked.Exchange(ref _bytes, 0);
            return count;
        }
    }

    /// <summary>Bytes an entry counts against <see cref="MaxBytes"/>: body, key and headers (UTF-16), plus a fixed overhead.</summary>
    public static long SizeOf(string key, IntegrationResult response)
    {
        long size = EntryOverheadBytes + response.Body.Length + (key.Length * 2L) + ((response.ContentType?.Length ?? 0) * 2L);
        foreach (var (name, values) in response.Headers)
        {
            size += name.Length * 2L;
            foreach (var value in values)
            {
                size += (value?.Length ?? 0) * 2L;
            }
        }
        return size;
    }

    private void EvictOver(long limit)
    {
        while (_bytes > limit && _order.Last is { } oldest)
        {
            Remove(oldest);
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _order.Remove(node);
        _entries.Remove(node.Value.Key);
        Interlocked.Add(ref _bytes, -node.Value.Size);
    }

    private sealed record Entry(string Key, IntegrationResult Response, long Size, DateTimeOffset Expires);
}
