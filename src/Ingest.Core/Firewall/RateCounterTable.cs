using System.Collections.Concurrent;
using Ingest.Core.Throttling;

namespace Ingest.Core.Firewall;

/// <summary>
/// Requests per client address of one <c>rateBlock</c> rule over a sliding window: the count of
/// the current fixed window plus the previous window's count weighted by how much of it still
/// overlaps the sliding window (the approximation Cloudflare and nginx-style limiters use: one
/// entry of two counters per client, no list of timestamps).
/// </summary>
/// <remarks>
/// Memory is bounded by <see cref="Capacity"/>: when the table is full, clients idle for two
/// windows (whose counts are zero anyway) are dropped; when it is still full, a new client is not
/// counted, and so not limited, until room frees. Failing open here keeps an attack from many
/// addresses from blocking honest new clients; such an attack is what <c>block</c> rules on
/// source ranges and the throttles are for. Addresses count as <see cref="ClientAddressKey"/> does
/// (IPv6 by /64).
/// </remarks>
internal sealed class RateCounterTable
{
    private readonly ConcurrentDictionary<ClientAddressKey, Counter> _clients = new();
    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private int _count;
    private long _nextSweep;

    public RateCounterTable(TimeSpan window, int limit, int capacity, TimeProvider time)
    {
        Window = window;
        Limit = limit;
        Capacity = capacity;
        _time = time;
        _windowTicks = Math.Max(1, (long)(window.TotalSeconds * time.TimestampFrequency));
    }

    public TimeSpan Window { get; }

    /// <summary>Requests allowed per window; a redeployment may change it.</summary>
    public int Limit { get; set; }

    /// <summary>Most clients tracked; a redeployment may change it.</summary>
    public int Capacity { get; set; }

    /// <summary>Clients tracked now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Set when a new client could not be tracked since the last look (table full); for logging.</summary>
    public bool Overflowed { get; set; }

    /// <summary>Counts one request of <paramref name="client"/>; true when it is over the limit (to be blocked).</summary>
    public bool Hit(ClientAddressKey client)
    {
        var now = _time.GetTimestamp();
        var window = now / _windowTicks;
        if (!_clients.TryGetValue(client, out var counter) && (counter = Add(client, window)) is null)
        {
            return false;
        }
        double estimate;
        lock (counter)
        {
            if (counter.Window != window)
            {
                counter.Previous = counter.Window == window - 1 ? counter.Current : 0;
                counter.Current = 0;
                counter.Window = window;
            }
            counter.Current++;
            var overlap = 1 - ((double)(now % _windowTicks) / _windowTicks);
            estimate = (counter.Previous * overlap) + counter.Current;
        }
        return estimate > Limit;
    }

    private Counter? Add(ClientAddressKey client, long window)
    {
        if (Volatile.Read(ref _count) >= Capacity)
        {
            Sweep(window);
            if (Volatile.Read(ref _count) >= Capacity)
            {
                Overflowed = true;
                return null;
            }
        }
        var counter = new Counter { Window = window };
        if (_clients.TryAdd(client, counter))
        {
            Interlocked.Increment(ref _count);
            return counter;
        }
        return _clients.TryGetValue(client, out var raced) ? raced : null;
    }

    /// <summary>Drops clients idle for two windows or more; at most once per window tenth when called because the table is full.</summary>
    internal int Sweep(long window)
    {
        var now = _time.GetTimestamp();
        var next = Volatile.Read(ref _nextSweep);
        if (now < next || Interlocked.CompareExchange(ref _nextSweep, now + Math.Max(1, _windowTicks / 10), next) != next)
        {
            return 0;
        }
        var removed = 0;
        foreach (var (key, counter) in _clients)
        {
            bool idle;
            lock (counter)
            {
                idle = counter.Window < window - 1;
            }
            if (idle && _clients.TryRemove(new KeyValuePair<ClientAddressKey, Counter>(key, counter)))
            {
                Interlocked.Decrement(ref _count);
                removed++;
            }
        }
        return removed;
    }

    private sealed class Counter
    {
        public long Window;
        public int Current;
        public int Previous;
    }
}
