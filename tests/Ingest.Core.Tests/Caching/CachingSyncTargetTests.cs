using Ingest.Core.Caching;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Core.Integration;
using Ingest.Core.Tests.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Ingest.Core.Tests.Caching.CacheTestKit;

namespace Ingest.Core.Tests.Caching;

public sealed class CachingSyncTargetTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestMeterFactory _meters = new();
    private readonly IngestMetrics _metrics;
    private readonly CountingTarget _backend = new();

    public CachingSyncTargetTests() => _metrics = new IngestMetrics(_meters);

    private CachingSyncTarget Cached(TimeSpan? ttl = null, bool allowBypass = false, string[]? keys = null, long maxBytes = 1 << 20) =>
        new(_backend, new ResponseCache("prod", maxBytes, _time), ResponseCacheKey.Compile("GET /v1/items/{id}\nprod\nX\n", keys ?? [], ["id"]),
            ttl ?? TimeSpan.FromSeconds(300), allowBypass, "GET /v1/items/{id}", "prod", _metrics);

    [Fact]
    public async Task The_second_identical_request_is_a_hit_and_the_backend_is_called_once()
    {
        var cached = Cached();

        var first = await cached.InvokeAsync(Request(), default);
        var second = await cached.InvokeAsync(Request(query: "?noise=1"), default);

        Assert.Equal(1, _backend.Calls);
        Assert.Equal("call 1", Text(first));
        Assert.Equal("call 1", Text(second));
        Assert.Equal("Miss", CacheHeader(first));
        Assert.Equal("Hit", CacheHeader(second));
        Assert.Equal(200, second.StatusCode);
        Assert.Equal(200, first.IntegrationStatus);
        Assert.Equal(0, second.IntegrationStatus); // no backend call: no integration status in the access log
        Assert.Equal("application/json", second.ContentType);
        Assert.Equal(1, _meters.Sum("ingest_cache_hits"));
        Assert.Equal(1, _meters.Sum("ingest_cache_misses"));
    }

    [Fact]
    public async Task Another_key_parameter_value_is_a_miss()
    {
        var cached = Cached();

        await cached.InvokeAsync(Request(pathParameters: new Dictionary<string, string> { ["id"] = "1" }), default);
        var other = await cached.InvokeAsync(Request(pathParameters: new Dictionary<string, string> { ["id"] = "2" }), default);

        Assert.Equal(2, _backend.Calls);
        Assert.Equal("call 2", Text(other));
        Assert.Equal(2, _meters.Sum("ingest_cache_misses"));
    }

    [Fact]
    public async Task The_cached_body_is_a_copy_the_backend_cannot_change_afterwards()
    {
        var bytes = "original"u8.ToArray();
        _backend.Answer = _ => new IntegrationResult { IntegrationStatus = 200, Body = bytes };
        var cached = Cached();

        await cached.InvokeAsync(Request(), default);
        bytes[0] = (byte)'X';
        var hit = await cached.InvokeAsync(Request(), default);

        Assert.Equal("original", Text(hit));
    }

    [Theory]
    [InlineData(404)]
    [InlineData(500)]
    [InlineData(302)]
    public async Task Only_2xx_answers_are_cached(int status)
    {
        _backend.Answer = n => Answer($"call {n}", status);
        var cached = Cached();

        await cached.InvokeAsync(Request(), default);
        var second = await cached.InvokeAsync(Request(), default);

        Assert.Equal(2, _backend.Calls);
        Assert.Equal(status, second.StatusCode);
        Assert.Equal("Miss", CacheHeader(second));
    }

    [Fact]
    public async Task Failures_and_answers_the_backend_marks_no_store_or_private_are_not_cached()
    {
        var answers = new Queue<IntegrationResult>([
            IntegrationResult.Failed(IntegrationFailure.Timeout, "slow"),
            Answer("secret", 200, ("Cache-Control", "no-store")),
            Answer("mine", 200, ("Cache-Control", "private, max-age=60")),
            Answer("shared"),
            Answer("never asked"),
        ]);
        _backend.Answer = _ => answers.Dequeue();
        var cached = Cached();

        var failed = await cached.InvokeAsync(Request(), default);
        await cached.InvokeAsync(Request(), default);
        await cached.InvokeAsync(Request(), default);
        await cached.InvokeAsync(Request(), default);
        var hit = await cached.InvokeAsync(Request(), default);

        Assert.Equal(IntegrationFailure.Timeout, failed.Failure);
        Assert.Equal(4, _backend.Calls);
        Assert.Equal("shared", Text(hit));
        Assert.Equal("Hit", CacheHeader(hit));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Methods_that_change_state_pass_through_uncached_and_uncounted(string method)
    {
        var cached = Cached();

        await cached.InvokeAsync(Request(method: method), default);
        var second = await cached.InvokeAsync(Request(method: method), default);

        Assert.Equal(2, _backend.Calls);
        Assert.Null(CacheHeader(second));
        Assert.Equal(0, _meters.Sum("ingest_cache_hits") + _meters.Sum("ingest_cache_misses"));
    }

    [Fact]
    public async Task Max_age_zero_skips_the_lookup_and_refreshes_the_entry_when_bypass_is_allowed()
    {
        var cached = Cached(allowBypass: true);
        var fresh = new Dictionary<string, string> { ["Cache-Control"] = "no-transform, max-age=0" };

        await cached.InvokeAsync(Request(), default);
        var bypassed = await cached.InvokeAsync(Request(headers: fresh), default);
        var after = await cached.InvokeAsync(Request(), default);

        Assert.Equal(2, _backend.Calls);
        Assert.Equal("call 2", Text(bypassed));
        Assert.Equal("Miss", CacheHeader(bypassed));
        Assert.Equal("call 2", Text(after));
        Assert.Equal("Hit", CacheHeader(after));
    }

    [Fact]
    public async Task Max_age_zero_is_ignored_when_bypass_is_not_allowed()
    {
        var cached = Cached(allowBypass: false);

        await cached.InvokeAsync(Request(), default);
        var second = await cached.InvokeAsync(Request(headers: new Dictionary<string, string> { ["Cache-Control"] = "max-age=0" }), default);

        Assert.Equal(1, _backend.Calls);
        Assert.Equal("Hit", CacheHeader(second));
    }

    [Theory]
    [InlineData("max-age=0", true)]
    [InlineData("MAX-AGE=0", true)]
    [InlineData("no-cache, max-age=0", true)]
    [InlineData("max-age=\"0\"", true)]
    [InlineData("max-age=00", true)]
    [InlineData("max-age=-0", false)]
    [InlineData("max-age=10", false)]
    [InlineData("no-cache", false)]
    [InlineData("", false)]
    public void Only_max_age_zero_asks_for_a_fresh_answer(string header, bool fresh) =>
        Assert.Equal(fresh, CachingSyncTarget.AsksForFreshAnswer(header));

    [Fact]
    public async Task Entries_expire_after_the_route_ttl()
    {
        var cached = Cached(ttl: TimeSpan.FromSeconds(30));

        await cached.InvokeAsync(Request(), default);
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("Hit", CacheHeader(await cached.InvokeAsync(Request(), default)));
        _time.Advance(TimeSpan.FromSeconds(1));
        var expired = await cached.InvokeAsync(Request(), default);

        Assert.Equal("Miss", CacheHeader(expired));
        Assert.Equal("call 2", Text(expired));
    }

    [Fact]
    public async Task The_backend_is_asked_for_a_buffered_answer_and_the_request_is_otherwise_unchanged()
    {
        var cached = Cached();
        var request = Request();

        await cached.InvokeAsync(request, default);

        var seen = Assert.Single(_backend.Requests);
        Assert.True(seen.BufferResponse);
        Assert.Same(request.Context, seen.Context);
        Assert.Same(request.PathParameters, seen.PathParameters);
        Assert.Equal(request.TraceParent, seen.TraceParent);
    }

    [Fact]
    public async Task Disposing_the_cached_route_leaves_the_shared_target_to_its_deployment()
    {
        await Cached().DisposeAsync();

        Assert.False(_backend.Disposed);
    }

    [Fact]
    public void Wrap_caches_only_routes_with_cache_in_a_stage_with_a_cache_and_shares_the_stage_cache()
    {
        var services = new ServiceCollection().AddSingleton(new ResponseCaches(_time)).AddSingleton(_metrics).BuildServiceProvider();
        var config = new IngestConfig
        {
            Targets = { ["items"] = new TargetOptions { Type = "s3", Bucket = "items" } },
            Stages = [new StageOptions { Name = "prod", Cache = new StageCacheOptions { Ttl = TimeSpan.FromSeconds(60) } }, new StageOptions { Name = "dev" }],
        };
        var cachedRoute = new RouteOptions { Route = "GET /v1/items/{id}", Target = "items", Cache = new RouteCacheOptions() };
        var plainRoute = new RouteOptions { Route = "GET /v1/other/{id}", Target = "items" };
        var disabled = new RouteOptions { Route = "GET /v1/off/{id}", Target = "items", Cache = new RouteCacheOptions { Enabled = false } };

        var prod = Assert.IsType<CachingSyncTarget>(CachingSyncTarget.Wrap(_backend, config, cachedRoute, config.Stages[0], services));
        var prodAgain = Assert.IsType<CachingSyncTarget>(CachingSyncTarget.Wrap(_backend, config, cachedRoute, config.Stages[0], services));

        Assert.Same(prod.Cache, prodAgain.Cache);
        Assert.Same(_backend, prod.Inner);
        Assert.Same(_backend, CachingSyncTarget.Wrap(_backend, config, cachedRoute, config.Stages[1], services));
        Assert.Same(_backend, CachingSyncTarget.Wrap(_backend, config, plainRoute, config.Stages[0], services));
        Assert.Same(_backend, CachingSyncTarget.Wrap(_backend, config, disabled, config.Stages[0], services));
        Assert.Null(CachingSyncTarget.Wrap(null, config, cachedRoute, config.Stages[0], services));
    }

    [Fact]
    public async Task A_route_whose_settings_changed_does_not_see_entries_made_under_the_old_ones()
    {
        var services = new ServiceCollection().AddSingleton(new ResponseCaches(_time)).BuildServiceProvider();
        var config = new IngestConfig { Targets = { ["items"] = new TargetOptions { Type = "s3", Bucket = "items" } }, Cache = new StageCacheOptions() };
        var route = new RouteOptions { Route = "GET /v1/items/{id}", Target = "items", Cache = new RouteCacheOptions() };
        var before = CachingSyncTarget.Wrap(_backend, config, route, null, services)!;
        await before.InvokeAsync(Request(), default);

        var unchanged = CachingSyncTarget.Wrap(_backend, config, route, null, services)!;
        Assert.Equal("Hit", CacheHeader(await unchanged.InvokeAsync(Request(), default)));

        config.Targets["items"].Bucket = "items-v2";
        var changed = CachingSyncTarget.Wrap(_backend, config, route, null, services)!;
        Assert.Equal("Miss", CacheHeader(await changed.InvokeAsync(Request(), default)));
        Assert.Equal(2, _backend.Calls);
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _meters.Dispose();
    }
}
