using Ingest.Core.Caching;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Microsoft.Extensions.Time.Testing;
using static Ingest.Core.Tests.Caching.CacheTestKit;

namespace Ingest.Core.Tests.Caching;

public sealed class ResponseCacheTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(300);

    // Keys "k0".."k9" and 1000-byte bodies: every entry counts the same.
    private static readonly IntegrationResult Body1000 = Answer(new string('x', 1000));
    private static readonly long EntrySize = ResponseCache.SizeOf("k0", Body1000);

    [Fact]
    public void Least_recently_used_entries_are_evicted_first_when_the_bytes_run_out()
    {
        var cache = new ResponseCache("prod", EntrySize * 3, new FakeTimeProvider());
        cache.Set("k1", Body1000, Ttl);
        cache.Set("k2", Body1000, Ttl);
        cache.Set("k3", Body1000, Ttl);
        Assert.True(cache.TryGet("k1", out _)); // k1 is now the most recently used; k2 the least.

        cache.Set("k4", Body1000, Ttl);

        Assert.False(cache.TryGet("k2", out _));
        Assert.True(cache.TryGet("k1", out _));
        Assert.True(cache.TryGet("k3", out _));
        Assert.True(cache.TryGet("k4", out _));
        Assert.Equal(3, cache.Count);
        Assert.Equal(EntrySize * 3, cache.Bytes);
    }

    [Fact]
    public void A_big_entry_evicts_as_many_small_ones_as_it_needs()
    {
        var cache = new ResponseCache(null, EntrySize * 4, new FakeTimeProvider());
        foreach (var key in new[] { "k1", "k2", "k3", "k4" })
        {
            cache.Set(key, Body1000, Ttl);
        }
        var big = Answer(new string('y', 2500));

        Assert.True(cache.Set("k5", big, Ttl));

        Assert.False(cache.TryGet("k1", out _));
        Assert.False(cache.TryGet("k2", out _));
        Assert.False(cache.TryGet("k3", out _));
        Assert.True(cache.TryGet("k4", out _));
        Assert.True(cache.TryGet("k5", out var stored));
        Assert.Same(big, stored);
        Assert.InRange(cache.Bytes, 0, cache.MaxBytes);
    }

    [Fact]
    public void An_entry_larger_than_the_whole_cache_is_not_stored_and_evicts_nothing()
    {
        var cache = new ResponseCache(null, EntrySize * 2, new FakeTimeProvider());
        cache.Set("k1", Body1000, Ttl);

        Assert.False(cache.Set("huge", Answer(new string('z', 5000)), Ttl));

        Assert.False(cache.TryGet("huge", out _));
        Assert.True(cache.TryGet("k1", out _));
        Assert.Equal(EntrySize, cache.Bytes);
    }

    [Fact]
    public void Replacing_a_key_keeps_one_entry_and_counts_its_new_size()
    {
        var cache = new ResponseCache(null, 1 << 20, new FakeTimeProvider());
        cache.Set("k1", Body1000, Ttl);
        var smaller = Answer("small");

        cache.Set("k1", smaller, Ttl);

        Assert.Equal(1, cache.Count);
        Assert.Equal(ResponseCache.SizeOf("k1", smaller), cache.Bytes);
        Assert.True(cache.TryGet("k1", out var stored));
        Assert.Same(smaller, stored);
    }

    [Fact]
    public void Shrinking_the_limit_evicts_down_to_it()
    {
        var cache = new ResponseCache(null, EntrySize * 4, new FakeTimeProvider());
        foreach (var key in new[] { "k1", "k2", "k3", "k4" })
        {
            cache.Set(key, Body1000, Ttl);
        }

        cache.MaxBytes = EntrySize * 2;

        Assert.Equal(2, cache.Count);
        Assert.True(cache.TryGet("k3", out _));
        Assert.True(cache.TryGet("k4", out _));
    }

    [Fact]
    public void Entries_expire_after_their_own_ttl()
    {
        var time = new FakeTimeProvider();
        var cache = new ResponseCache(null, 1 << 20, time);
        cache.Set("short", Body1000, TimeSpan.FromSeconds(10));
        cache.Set("long", Body1000, TimeSpan.FromSeconds(3600));

        time.Advance(TimeSpan.FromSeconds(9.999));
        Assert.True(cache.TryGet("short", out _));

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(cache.TryGet("short", out _));
        Assert.True(cache.TryGet("long", out _));
        Assert.Equal(1, cache.Count); // the expired entry is gone, its bytes freed
        Assert.Equal(ResponseCache.SizeOf("long", Body1000), cache.Bytes);

        time.Advance(TimeSpan.FromSeconds(3600));
        Assert.False(cache.TryGet("long", out _));
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void Flush_empties_the_cache_and_says_how_many_entries_it_had()
    {
        var cache = new ResponseCache(null, 1 << 20, new FakeTimeProvider());
        cache.Set("k1", Body1000, Ttl);
        cache.Set("k2", Body1000, Ttl);

        Assert.Equal(2, cache.Flush());
        Assert.False(cache.TryGet("k1", out _));
        Assert.Equal(0, cache.Bytes);
        Assert.Equal(0, cache.Flush());
    }

    [Fact]
    public async Task Concurrent_readers_and_writers_keep_the_byte_count_exact_and_within_the_limit()
    {
        // 4 threads x 20000 operations over 64 keys in a cache that holds 16: bounded, well under a second.
        var cache = new ResponseCache(null, EntrySize * 16, new FakeTimeProvider());
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var random = new Random(w);
            for (var i = 0; i < 20_000; i++)
            {
                var key = $"k{random.Next(64):00}";
                if (random.Next(2) == 0)
                {
                    cache.Set(key, Body1000, Ttl);
                }
                else
                {
                    cache.TryGet(key, out _);
                }
                Assert.InRange(cache.Bytes, 0, cache.MaxBytes);
            }
        }));
        await Task.WhenAll(workers);

        Assert.InRange(cache.Count, 1, 16);
        Assert.Equal(cache.Count * ResponseCache.SizeOf("k00", Body1000), cache.Bytes);
    }

    [Fact]
    public void Caches_outlive_deployments_one_per_stage_and_flush_alone_or_together()
    {
        var caches = new ResponseCaches(new FakeTimeProvider());
        var options = new StageCacheOptions { MaxBytes = 1 << 20 };
        var prod = caches.For("prod", options);
        var dev = caches.For("dev", options);
        prod.Set("a", Body1000, Ttl);
        prod.Set("b", Body1000, Ttl);
        dev.Set("a", Body1000, Ttl);

        // A later deployment with a smaller limit gets the same cache, resized.
        var again = caches.For("prod", new StageCacheOptions { MaxBytes = EntrySize });
        Assert.Same(prod, again);
        Assert.Equal(EntrySize, prod.MaxBytes);
        Assert.Equal(1, prod.Count);

        Assert.Equal(0, caches.Flush("staging"));
        Assert.Equal(1, caches.Flush("prod"));
        Assert.Equal(1, dev.Count);
        prod.Set("c", Body1000, Ttl);
        Assert.Equal(2, caches.Flush());
        Assert.Equal(0, dev.Count + prod.Count);
    }
}
