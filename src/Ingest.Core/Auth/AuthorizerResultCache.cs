using System.Collections.Concurrent;

namespace Ingest.Core.Auth;

/// <summary>What a custom authorizer answered for one identity.</summary>
internal sealed record AuthorizerResult(bool Allowed, string? PrincipalId, IReadOnlyDictionary<string, string>? Context);

/// <summary>
/// Results of one custom authorizer by hash of the identity values, each kept for
/// <c>cacheTtl</c>. Bounded: when full of unexpired results, new ones are not cached.
/// </summary>
internal sealed class AuthorizerResultCache(TimeProvider time)
{
    private readonly ConcurrentDictionary<Sha256Key, (AuthorizerResult Result, long ExpiresAtMs)> _entries = new();
    private long _nextSweepMs;

    public int Count => _entries.Count;

    public bool TryGet(Sha256Key identity, out AuthorizerResult? result)
    {
        if (_entries.TryGetValue(identity, out var entry) && entry.ExpiresAtMs > time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            result = entry.Result;
            return true;
        }
        result = null;
        return false;
    }

    /// <summary>False when the cache is full.</summary>
    public bool Set(Sha256Key identity, AuthorizerResult result, TimeSpan ttl, int capacity)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_entries.Count >= capacity || now >= Volatile.Read(ref _nextSweepMs))
        {
            Volatile.Write(ref _nextSweepMs, now + 1000);
            foreach (var (key, entry) in _entries)
            {
                if (entry.ExpiresAtMs <= now)
                {
                    _entries.TryRemove(new KeyValuePair<Sha256Key, (AuthorizerResult, long)>(key, entry));
                }
            }
            if (_entries.Count >= capacity)
            {
                return false;
            }
        }
        _entries[identity] = (result, now + (long)ttl.TotalMilliseconds);
        return true;
    }

    public int Clear()
    {
        var count = _entries.Count;
        _entries.Clear();
        return count;
    }
}

/// <summary>Result caches of custom authorizers, shared by deployments (a redeploy keeps them).</summary>
public sealed class AuthorizerCaches(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, AuthorizerResultCache> _caches = new(StringComparer.Ordinal);

    internal AuthorizerResultCache Get(string key) => _caches.GetOrAdd(key, _ => new AuthorizerResultCache(time));

    /// <summary>Forgets every cached authorizer result (e.g. after revoking a token); returns how many there were.</summary>
    public int Clear() => _caches.Values.Sum(cache => cache.Clear());
}
