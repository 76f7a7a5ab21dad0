using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Core.Routing;

namespace Ingest.Core.Caching;

/// <summary>Checks of the response caches (<c>cache:</c> at the top, per stage and per route); every problem, each naming the fix.</summary>
public static class ResponseCacheValidation
{
    /// <summary>Shortest time to live.</summary>
    public static readonly TimeSpan MinTtl = TimeSpan.FromSeconds(1);

    /// <summary>Longest time to live (API Gateway's limit).</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromSeconds(3600);

    private const string CacheExample = "{ maxBytes: 67108864, ttl: 300s }";

    /// <param name="config">The configuration.</param>
    /// <param name="syncKinds">Sync target kinds by type; null: not known (the target kind is not checked).</param>
    /// <param name="errors">Problems found are added here.</param>
    public static void Validate(IngestConfig config, IReadOnlyDictionary<string, ISyncTargetKind>? syncKinds, ICollection<string> errors)
    {
        if (config.Cache is { } gatewayCache)
        {
            if (config.Stages.Count > 0)
            {
                errors.Add("cache: the gateway-wide cache serves a configuration without stages; with stages each has its own. Move it to stages[i].cache.");
            }
            else
            {
                ValidateCache("cache", gatewayCache, errors);
            }
        }
        for (var i = 0; i < config.Stages.Count; i++)
        {
            if (config.Stages[i].Cache is { } stageCache)
            {
                ValidateCache($"stages[{i}] ({config.Stages[i].Name}).cache", stageCache, errors);
            }
        }
        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Cache is { } routeCache)
            {
                ValidateRoute(i, config.Routes[i], routeCache, config, syncKinds, errors);
            }
        }
    }

    private static void ValidateCache(string where, StageCacheOptions cache, ICollection<string> errors)
    {
        if (cache.MaxBytes <= 0)
        {
            errors.Add($"{where}.maxBytes: must be above zero, e.g. 67108864 (64 MiB).");
        }
        Ttl($"{where}.ttl", cache.Ttl, errors);
    }

    private static void ValidateRoute(int index, RouteOptions route, RouteCacheOptions cache, IngestConfig config, IReadOnlyDictionary<string, ISyncTargetKind>? syncKinds, ICollection<string> errors)
    {
        var where = $"routes[{index}] ({route.Route}).cache";
        if (cache.Ttl is { } ttl)
        {
            Ttl($"{where}.ttl", ttl, errors);
        }
        var space = route.Route.IndexOf(' ', StringComparison.Ordinal);
        var template = space > 0 ? RouteTemplate.TryParse(route.Route[(space + 1)..], out _) : null;
        var parameters = template?.ParameterNames.ToHashSet(StringComparer.Ordinal) ?? [];
        for (var k = 0; k < cache.Keys.Count; k++)
        {
            var entry = cache.Keys[k];
            if (ResponseCacheKey.TryParse(entry) is not { } parsed)
            {
                errors.Add($"{where}.keys[{k}]: '{entry}' is not path:NAME, query:NAME or header:NAME.");
            }
            else if (parsed.Kind == "path" && template is not null && !parameters.Contains(parsed.Name))
            {
                errors.Add($"{where}.keys[{k}]: the route has no path parameter {{{parsed.Name}}}. Use one of: {(parameters.Count == 0 ? "(none)" : string.Join(", ", parameters))}.");
            }
        }
        if (!cache.Enabled)
        {
            return;
        }
        if (space > 0 && route.Route[..space] is not ("GET" or "HEAD" or "ANY"))
        {
            errors.Add($"{where}: only GET and HEAD answers are cached; {route.Route[..space]} changes state. Remove cache: from this route.");
        }
        if (syncKinds is not null && config.Targets.TryGetValue(route.Target ?? "", out var target) && !syncKinds.ContainsKey(target.Type))
        {
            errors.Add($"{where}: target '{route.Target}' ({target.Type}) answers 202 itself; only request/response targets (http, lambda, dynamodb, s3, stepfunctions) have answers to cache. Remove cache: from this route.");
        }
        if (config.Stages.Count == 0)
        {
            if (config.Cache is null)
            {
                errors.Add($"{where}: there is no response cache. Add cache: {CacheExample} at the top level, or remove cache: from this route.");
            }
            return;
        }
        for (var s = 0; s < config.Stages.Count; s++)
        {
            if (config.Stages[s].Cache is null)
            {
                errors.Add($"{where}: stage '{config.Stages[s].Name}' has no cache. Add stages[{s}].cache {CacheExample}, or remove cache: from this route.");
            }
        }
    }

    private static void Ttl(string where, TimeSpan ttl, ICollection<string> errors)
    {
        if (ttl < MinTtl || ttl > MaxTtl)
        {
            errors.Add($"{where}: {ttl.TotalSeconds:0.###}s is outside 1s..3600s, e.g. 300s.");
        }
    }
}
