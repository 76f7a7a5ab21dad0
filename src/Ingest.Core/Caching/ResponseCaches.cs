using System.Collections.Concurrent;
using Ingest.Core.Configuration;

namespace Ingest.Core.Caching;

/// <summary>
/// The response caches of the process, one per stage (key "" for the gateway-wide <c>cache:</c>).
/// Long-lived: a deployment looks its stage's cache up here, so entries outlive deployments; a
/// deployment that changes <c>maxBytes</c> resizes the cache in place.
/// </summary>
public sealed class ResponseCaches(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, ResponseCache> _caches = new(StringComparer.Ordinal);

    /// <summary>The cache of <paramref name="stage"/> (null: the gateway-wide one), created or resized to <paramref name="options"/>.</summary>
    public ResponseCache For(string? stage, StageCacheOptions options)
    {
        var cache = _caches.GetOrAdd(stage ?? "", static (_, state) => new ResponseCache(state.stage, state.options.MaxBytes, state.time), (stage, options, time));
        if (cache.MaxBytes != options.MaxBytes)
        {
            cache.MaxBytes = options.MaxBytes;
        }
        return cache;
    }

    /// <summary>The caches that exist.</summary>
    public IReadOnlyCollection<ResponseCache> All => [.. _caches.Values];

    /// <summary>
    /// Empties the cache of <paramref name="stage"/>, or every cache when null; returns the number of
    /// entries removed. A stage without a cache has nothing to flush (0).
    /// </summary>
    public int Flush(string? stage = null)
    {
        if (stage is not null)
        {
            return _caches.TryGetValue(stage, out var one) ? one.Flush() : 0;
        }
        var flushed = 0;
        foreach (var cache in _caches.Values)
        {
            flushed += cache.Flush();
        }
        return flushed;
    }
}
