using System.Collections.Concurrent;

namespace Ingest.Core.Auth;

/// <summary>
/// Signatures seen recently, each kept until its timestamp leaves the replay window (after that the
/// timestamp check refuses it anyway). Bounded: when full of unexpired entries it refuses to take
/// more, so a flood can cost a 503 but never reopens a replay. Shared by all deployments, so a
/// redeploy does not forget what was seen.
/// </summary>
public sealed class ReplayCache(TimeProvider time)
{
    private readonly ConcurrentDictionary<Sha256Key, long> _expiresAtMs = new();
    private readonly Lock _sweepLock = new();
    private long _nextSweepMs;

    public int Count => _expiresAtMs.Count;

    /// <summary>Outcome of <see cref="TryRecord"/>.</summary>
    public enum Result
    {
        /// <summary>First use: recorded.</summary>
        Recorded,

        /// <summary>Seen before and not yet expired.</summary>
        Replay,

        /// <summary>No room.</summary>
        Full,
    }

    /// <summary>Records <paramref name="signature"/> until <paramref name="expiresAt"/> unless it is already there.</summary>
    public Result TryRecord(Sha256Key signature, DateTimeOffset expiresAt, int capacity)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var expires = expiresAt.ToUnixTimeMilliseconds();
        if (_expiresAtMs.TryGetValue(signature, out var existing))
        {
            if (existing > now)
            {
                return Result.Replay;
            }
            return _expiresAtMs.TryUpdate(signature, expires, existing) ? Result.Recorded : Result.Replay;
        }
        if (now >= Volatile.Read(ref _nextSweepMs) || _expiresAtMs.Count >= capacity)
        {
            Sweep(now);
            if (_expiresAtMs.Count >= capacity)
            {
                return Result.Full;
            }
        }
        return _expiresAtMs.TryAdd(signature, expires) ? Result.Recorded : Result.Replay;
    }

    private void Sweep(long now)
    {
        if (!_sweepLock.TryEnter())
        {
            return;
        }
        try
        {
            foreach (var (key, expires) in _expiresAtMs)
            {
                if (expires <= now)
                {
                    _expiresAtMs.TryRemove(new KeyValuePair<Sha256Key, long>(key, expires));
                }
            }
            // Sweeping is O(entries): at most once a second unless the cache is full.
            Volatile.Write(ref _nextSweepMs, now + 1000);
        }
        finally
        {
            _sweepLock.Exit();
        }
    }
}
