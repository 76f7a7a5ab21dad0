using System.Collections.Concurrent;

namespace Ingest.Core.Throttling;

/// <summary>Tables the throttle store sweeps now and then.</summary>
internal interface ISweepableTable
{
    /// <summary>Drops idle (full) buckets; returns how many.</summary>
    int Sweep(long now);
}

/// <summary>
/// Token buckets per client (API key id, address, header value) with a bounded number of
/// entries, so that clients with endless keys cannot exhaust memory.
/// </summary>
/// <remarks>
/// Lookup of a known key does not allocate. A full bucket is the same as a new one, so idle
/// buckets are dropped without losing anything: by a periodic sweep, and at once when the
/// table is full. When it is still full (that many clients are busy at once), further new
/// clients share one overflow bucket of the same rate until room frees.
/// </remarks>
internal sealed class ClientBucketTable<TKey> : ISweepableTable
    where TKey : notnull
{
    /// <summary>Sweeps forced by a full table happen at most this often.</summary>
    private const long FullSweepIntervalNs = 100_000_000;

    private readonly ConcurrentDictionary<TKey, TokenBucket> _buckets;
    private readonly TokenBucket _overflow = new();
    private int _count;
    private int _sweeping;
    private long _nextFullSweep;

    public ClientBucketTable(string name, int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        Name = name;
        Capacity = capacity;
        _buckets = new ConcurrentDictionary<TKey, TokenBucket>(comparer);
    }

    public string Name { get; }

    /// <summary>Most clients kept; a redeployment may change it.</summary>
    public int Capacity { get; set; }

    /// <summary>Clients tracked now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Set when a client had to share the overflow bucket since the last look; for logging.</summary>
    public bool OverflowUsed { get; set; }

    internal ConcurrentDictionary<TKey, TokenBucket> Buckets => _buckets;

    /// <summary>The bucket of <paramref name="key"/>, made when new.</summary>
    public TokenBucket Get(TKey key, long now) =>
        _buckets.TryGetValue(key, out var bucket) ? bucket : Add(key, now);

    /// <summary>Forgets a bucket found evicted, so that the next lookup makes a new one.</summary>
    public void Forget(TKey key, TokenBucket evicted)
    {
        if (_buckets.TryRemove(new KeyValuePair<TKey, TokenBucket>(key, evicted)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private TokenBucket Add(TKey key, long now)
    {
        if (Volatile.Read(ref _count) >= Capacity)
        {
            SweepWhenFull(now);
            if (Volatile.Read(ref _count) >= Capacity)
            {
                OverflowUsed = true;
                return _overflow;
            }
        }
        var bucket = new TokenBucket();
        if (_buckets.TryAdd(key, bucket))
        {
            Interlocked.Increment(ref _count);
            return bucket;
        }
        return _buckets.TryGetValue(key, out var raced) ? raced : _overflow;
    }

    private void SweepWhenFull(long now)
    {
        var next = Volatile.Read(ref _nextFullSweep);
        if (now < next || Interlocked.CompareExchange(ref _nextFullSweep, now + FullSweepIntervalNs, next) != next)
        {
            return;
        }
        Sweep(now);
    }

    public int Sweep(long now)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return 0;
        }
        try
        {
            var removed = 0;
            foreach (var (key, bucket) in _buckets)
            {
                if (bucket.TryEvictIfFull(now) && _buckets.TryRemove(new KeyValuePair<TKey, TokenBucket>(key, bucket)))
                {
                    Interlocked.Decrement(ref _count);
                    removed++;
                }
            }
            return removed;
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}

/// <summary>A <see cref="ClientBucketTable{TKey}"/> of text keys, also looked up by span without allocating.</summary>
internal static class StringBucketTable
{
    public static ClientBucketTable<string> Create(string name, int capacity) => new(name, capacity, StringComparer.Ordinal);

    /// <summary>The bucket of <paramref name="key"/>; allocates the key string only when the client is new.</summary>
    public static TokenBucket Get(this ClientBucketTable<string> table, ReadOnlySpan<char> key, long now, out string? storedKey)
    {
        var lookup = table.Buckets.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(key, out storedKey, out var bucket))
        {
            return bucket;
        }
        var created = key.ToString();
        storedKey = created;
        return table.Get(created, now);
    }
}
