using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Core.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Caching;

/// <summary>
/// A route's sync target behind its stage's response cache (routes with <c>cache:</c>). Only GET
/// and HEAD answers are cached (other methods change state and pass straight through); only 2xx
/// answers the target returned whole, and not those marked <c>Cache-Control: no-store</c> or
/// <c>private</c> by the backend. With <c>allowBypass: true</c> a request with
/// <c>Cache-Control: max-age=0</c> skips the lookup and its answer replaces the entry. Cached and
/// fresh answers carry <c>X-Cache: Hit</c> or <c>X-Cache: Miss</c>; lookups are counted in
/// <c>ingest_cache_hits_total</c> / <c>ingest_cache_misses_total</c> by route and stage.
/// </summary>
/// <remarks>
/// Authentication, throttling and payload checks run before the target is called, so they apply
/// to cached answers too. The key holds only the listed parameters: a route whose answer depends
/// on the caller must list what identifies it (e.g. <c>header:Authorization</c>).
/// </remarks>
public sealed class CachingSyncTarget : ISyncTarget
{
    /// <summary>The response header that says whether the answer came from the cache.</summary>
    public const string CacheHeader = "X-Cache";

    private static readonly KeyValuePair<string, StringValues> HitHeader = new(CacheHeader, "Hit");
    private static readonly KeyValuePair<string, StringValues> MissHeader = new(CacheHeader, "Miss");

    private readonly ISyncTarget _inner;
    private readonly ResponseCache _cache;
    private readonly ResponseCacheKey _key;
    private readonly TimeSpan _ttl;
    private readonly bool _allowBypass;
    private readonly IngestMetrics? _metrics;
    private readonly KeyValuePair<string, object?> _routeTag;
    private readonly KeyValuePair<string, object?> _stageTag;

    /// <param name="inner">The route's target (owned by the deployment, not disposed here).</param>
    /// <param name="cache">The stage's cache.</param>
    /// <param name="key">How keys are made.</param>
    /// <param name="ttl">Time to live of this route's entries.</param>
    /// <param name="allowBypass">Honour <c>Cache-Control: max-age=0</c>.</param>
    /// <param name="routeKey">Route key, for the metrics.</param>
    /// <param name="stage">Stage, for the metrics; null without stages.</param>
    /// <param name="metrics">Instruments; null: not counted.</param>
    public CachingSyncTarget(ISyncTarget inner, ResponseCache cache, ResponseCacheKey key, TimeSpan ttl, bool allowBypass, string routeKey, string? stage, IngestMetrics? metrics)
    {
        _inner = inner;
        _cache = cache;
        _key = key;
        _ttl = ttl;
        _allowBypass = allowBypass;
        _metrics = metrics;
        _routeTag = new("route", routeKey);
        _stageTag = new("stage", stage ?? "");
    }

    /// <summary>The wrapped target.</summary>
    public ISyncTarget Inner => _inner;

    /// <summary>The cache this route uses.</summary>
    public ResponseCache Cache => _cache;

    public string Name => _inner.Name;

    public bool NeedsBody => _inner.NeedsBody;

    /// <summary>
    /// <paramref name="target"/> behind the response cache when <paramref name="route"/> has an enabled
    /// <c>cache:</c> and its stage (or, without stages, the gateway) has one; else <paramref name="target"/> itself.
    /// </summary>
    public static ISyncTarget? Wrap(ISyncTarget? target, IngestConfig config, RouteOptions route, StageOptions? stage, IServiceProvider services)
    {
        if (target is null || route.Cache is not { Enabled: true } options)
        {
            return target;
        }
        var stageCache = stage is null ? config.Cache : stage.Cache;
        if (stageCache is null || services.GetService<ResponseCaches>() is not { } caches)
        {
            return target;
        }
        var space = route.Route.IndexOf(' ', StringComparison.Ordinal);
        var template = Routing.RouteTemplate.TryParse(route.Route[(space + 1)..], out _)!;
        var key = ResponseCacheKey.Compile(Prefix(config, route, stage), options.Keys, template.ParameterNames);
        return new CachingSyncTarget(target, caches.For(stage?.Name, stageCache), key, options.Ttl ?? stageCache.Ttl, options.AllowBypass,
            route.Route, stage?.Name, services.GetService<IngestMetrics>());
    }

    public async ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken)
    {
        var method = request.Context.Http.Request.Method;
        if (method is not ("GET" or "HEAD"))
        {
            return await _inner.InvokeAsync(request, cancellationToken).ConfigureAwait(false);
        }
        var key = _key.For(request);
        var bypass = _allowBypass && AsksForFreshAnswer(request.Context.Http.Request.Headers.CacheControl);
        if (!bypass && _cache.TryGet(key, out var cached))
        {
            Count(hit: true);
            return cached;
        }
        Count(hit: false);
        // The cache needs the answer whole, never written to the client by the target itself.
        var call = request.BufferResponse ? request : Buffered(request);
        var result = await _inner.InvokeAsync(call, cancellationToken).ConfigureAwait(false);
        if (result.Written || result.Failure != IntegrationFailure.None)
        {
            return result;
        }
        if (result.StatusCode is >= 200 and < 300 && !ForbidsStoring(result.Headers))
        {
            // A hit calls no backend: no integration status in its access-log line.
            _cache.Set(key, WithHeader(result, HitHeader, result.Body.ToArray(), integrationStatus: 0), _ttl);
        }
        return WithHeader(result, MissHeader, result.Body, result.IntegrationStatus);
    }

    /// <summary>Not the owner of the wrapped target: the deployment disposes it.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void Count(bool hit)
    {
        if (_metrics is null)
        {
            return;
        }
        var counter = hit ? _metrics.CacheHits : _metrics.CacheMisses;
        if (counter.Enabled)
        {
            counter.Add(1, _routeTag, _stageTag);
        }
    }

    /// <summary><c>Cache-Control: max-age=0</c> among the request's directives.</summary>
    internal static bool AsksForFreshAnswer(StringValues cacheControl)
    {
        foreach (var value in cacheControl)
        {
            foreach (var range in (value ?? "").AsSpan().Split(','))
            {
                var directive = (value ?? "").AsSpan()[range].Trim();
                if (directive.StartsWith("max-age=", StringComparison.OrdinalIgnoreCase)
                    && int.TryParse(directive["max-age=".Length..].Trim('"'), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    && seconds == 0)
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The backend said the answer must not be kept by a shared cache.</summary>
    private static bool ForbidsStoring(IReadOnlyList<KeyValuePair<string, StringValues>> headers)
    {
        foreach (var (name, values) in headers)
        {
            if (!name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var value in values)
            {
                if (value is not null && (value.Contains("no-store", StringComparison.OrdinalIgnoreCase) || value.Contains("private", StringComparison.OrdinalIgnoreCase)))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static IntegrationResult WithHeader(IntegrationResult result, KeyValuePair<string, StringValues> header, ReadOnlyMemory<byte> body, int integrationStatus)
    {
        var headers = new KeyValuePair<string, StringValues>[result.Headers.Count + 1];
        for (var i = 0; i < result.Headers.Count; i++)
        {
            headers[i] = result.Headers[i];
        }
        headers[^1] = header;
        return new IntegrationResult
        {
            IntegrationStatus = integrationStatus,
            StatusCode = result.StatusCode,
            Headers = headers,
            ContentType = result.ContentType,
            Body = body,
        };
    }

    private static IntegrationRequest Buffered(IntegrationRequest request) => new()
    {
        Context = request.Context,
        PathParameters = request.PathParameters,
        Body = request.Body,
        IsBinary = request.IsBinary,
        RequestTime = request.RequestTime,
        TraceParent = request.TraceParent,
        BufferResponse = true,
        RequestTemplate = request.RequestTemplate,
    };

    /// <summary>
    /// Names the route in its keys: route key, stage, and a hash of the route's and its target's
    /// settings, so a deployment that changes them does not serve answers made under the old ones
    /// (unchanged routes keep their entries across deployments).
    /// </summary>
    private static string Prefix(IngestConfig config, RouteOptions route, StageOptions? stage)
    {
        config.Targets.TryGetValue(route.Target, out var target);
        var settings = JsonSerializer.SerializeToUtf8Bytes(new RouteSettings(route, target, stage?.Name, stage?.Variables), ConfigJsonContext.Default.RouteSettings);
        var hash = Convert.ToHexString(SHA256.HashData(settings), 0, 8);
        return new StringBuilder(route.Route.Length + 32).Append(route.Route).Append('\n').Append(stage?.Name).Append('\n').Append(hash).Append('\n').ToString();
    }
}
