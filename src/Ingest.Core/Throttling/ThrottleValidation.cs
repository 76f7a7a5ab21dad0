using System.Globalization;
using Ingest.Core.Configuration;

namespace Ingest.Core.Throttling;

/// <summary>Validation of throttle, usagePlans, redis and route throttles.</summary>
public static class ThrottleValidation
{
    /// <summary>Largest accepted <c>rate</c> and <c>burst</c>.</summary>
    public const double MaxRate = 1_000_000_000;

    /// <summary>Smallest accepted <c>rate</c> (one request per 1000 s); slower limits are quotas.</summary>
    public const double MinRate = 0.001;

    private static readonly string[] OnFailureModes = ["local", "deny"];

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        if (config.Throttle is { } gateway)
        {
            ValidateThrottle("throttle", gateway, errors);
            ValidateBy("throttle", gateway, null, errors);
        }
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            if (route.Throttle is { } throttle)
            {
                var where = $"routes[{i}] ({route.Route}).throttle";
                ValidateThrottle(where, throttle, errors);
                ValidateBy(where, throttle, route, errors);
            }
        }
        ValidatePlans(config, errors);
        if (config.Redis is { } redis)
        {
            ValidateRedis(redis, errors);
        }
    }

    private static void ValidateThrottle(string where, ThrottleOptions throttle, ICollection<string> errors)
    {
        if (!(throttle.Rate >= MinRate && throttle.Rate <= MaxRate))
        {
            errors.Add($"{where}.rate: {Text(throttle.Rate)} must be between {Text(MinRate)} and {Text(MaxRate)} tokens per second, e.g. rate: 100. For limits per day, week or month use a usage plan quota.");
        }
        if (!(throttle.Burst >= 1 && throttle.Burst <= MaxRate) || throttle.Burst != Math.Floor(throttle.Burst))
        {
            errors.Add($"{where}.burst: {Text(throttle.Burst)} must be a whole number of requests from 1 to {Text(MaxRate)} (the bucket size), e.g. burst: 50.");
        }
        if (throttle.MaxKeys is { } maxKeys && maxKeys < 1)
        {
            errors.Add($"{where}.maxKeys: {maxKeys} must be at least 1 (clients tracked at once; default {BucketRule.DefaultMaxKeys}).");
        }
    }

    private static void ValidateBy(string where, ThrottleOptions throttle, RouteOptions? route, ICollection<string> errors)
    {
        var by = throttle.By;
        if (by is "route" or "sourceIp")
        {
            return;
        }
        if (by == "apiKey")
        {
            if (route is not null && !route.Auth.Contains("apiKey", StringComparer.Ordinal))
            {
                errors.Add($"{where}.by: 'apiKey' needs apiKey in the route's auth list (auth: [apiKey]); without it every request shares one bucket. Add apiKey to auth or use by: sourceIp.");
            }
            return;
        }
        if (by.StartsWith("header:", StringComparison.Ordinal))
        {
            var name = by["header:".Length..];
            if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 127 || c == ':' || c == '"' || c == ',' || c == ';'))
            {
                errors.Add($"{where}.by: '{by}' does not name a header. Write header:NAME, e.g. header:x-device-id.");
            }
            return;
        }
        errors.Add($"{where}.by: '{by}' must be route (one bucket for the route), apiKey, sourceIp or header:NAME.");
    }

    private static void ValidatePlans(IngestConfig config, ICollection<string> errors)
    {
        var knownKeys = new HashSet<string>(config.ApiKeys.Select(k => k.Id), StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var planOfKey = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < config.UsagePlans.Count; i++)
        {
            var plan = config.UsagePlans[i];
            var where = $"usagePlans[{i}] ({plan.Name})";
            if (string.IsNullOrWhiteSpace(plan.Name))
            {
                errors.Add($"usagePlans[{i}].name: missing. Give the plan a name, e.g. name: standard.");
            }
            else if (!names.Add(plan.Name))
            {
                errors.Add($"{where}.name: '{plan.Name}' is used by two plans. Give each plan its own name.");
            }
            if (plan.Throttle is null && plan.Quota is null)
            {
                errors.Add($"{where}: sets neither throttle nor quota, so it limits nothing. Add throttle: {{ rate, burst }} and/or quota: {{ limit, period }}.");
            }
            if (plan.Throttle is { } throttle)
            {
                ValidateThrottle($"{where}.throttle", throttle, errors);
                if (throttle.By != "route")
                {
                    errors.Add($"{where}.throttle.by: usage plan throttles are always per API key; remove 'by: {throttle.By}'.");
                }
                if (throttle.MaxKeys is not null)
                {
                    errors.Add($"{where}.throttle.maxKeys: usage plan throttles track only the plan's keys; remove maxKeys.");
                }
            }
            if (plan.Quota is { } quota)
            {
                if (quota.Limit < 1 || quota.Limit > QuotaCounter.MaxLimit)
                {
                    errors.Add($"{where}.quota.limit: {quota.Limit} must be from 1 to {QuotaCounter.MaxLimit} requests per period.");
                }
                if (!QuotaPeriods.TryParse(quota.Period, out _))
                {
                    errors.Add($"{where}.quota.period: '{quota.Period}' must be one of {string.Join(", ", QuotaPeriods.Names)} (calendar periods in UTC).");
                }
            }
            foreach (var key in plan.Keys)
            {
                if (!knownKeys.Contains(key))
                {
                    errors.Add($"{where}.keys: '{key}' is not an API key id. Add it under apiKeys (id + sha256) or remove it from the plan.");
                }
                if (planOfKey.TryGetValue(key, out var other))
                {
                    if (other != plan.Name)
                    {
                        errors.Add($"{where}.keys: '{key}' is also in usage plan '{other}'. A key belongs to one plan: remove it from one of them.");
                    }
                    else
                    {
                        errors.Add($"{where}.keys: '{key}' is listed twice. Remove one.");
                    }
                }
                else
                {
                    planOfKey[key] = plan.Name;
                }
            }
        }
    }

    private static void ValidateRedis(RedisOptions redis, ICollection<string> errors)
    {
        if (!IsHostPort(redis.Endpoint))
        {
            errors.Add($"redis.endpoint: '{redis.Endpoint}' is not host:port. Write e.g. 127.0.0.1:6379 or redis.internal:6379.");
        }
        if (!OnFailureModes.Contains(redis.OnFailure, StringComparer.Ordinal))
        {
            errors.Add($"redis.onFailure: '{redis.OnFailure}' must be local (serve on per-instance limits while Redis is down) or deny (answer 503).");
        }
        if (redis.Timeout <= TimeSpan.Zero || redis.Timeout > TimeSpan.FromSeconds(10))
        {
            errors.Add("redis.timeout: must be above zero and at most 10s, e.g. 250ms: every throttled request may wait this long when Redis hangs.");
        }
        if (string.IsNullOrEmpty(redis.KeyPrefix) || redis.KeyPrefix.Any(char.IsWhiteSpace))
        {
            errors.Add($"redis.keyPrefix: '{redis.KeyPrefix}' must be non-empty without spaces, e.g. ingest:.");
        }
    }

    private static bool IsHostPort(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return false;
        }
        var host = endpoint[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            return System.Net.IPAddress.TryParse(host[1..^1], out _);
        }
        return Uri.CheckHostName(host) is UriHostNameType.Dns or UriHostNameType.IPv4;
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}
