using Ingest.Core.Configuration;

namespace Ingest.Core.Integration;

/// <summary>Checks of sync targets and the routes that use them (every problem, each naming the fix).</summary>
public static class SyncTargetsValidation
{
    /// <summary>Checks one sync target: the kind's own checks, then settings only queues and streams have.</summary>
    public static void ValidateTarget(string name, TargetOptions target, ISyncTargetKind kind, IngestConfig config, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        kind.Validate(name, target, config, errors);
        if (target.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            errors.Add($"{where}.timeout: must be above zero, e.g. 29s.");
        }
        AsyncOnly(where, "batch", target.Batch is not null, target.Type, errors);
        AsyncOnly(where, "retry", target.Retry is not null, target.Type, errors);
        AsyncOnly(where, "deadLetter", target.DeadLetter is not null, target.Type, errors);
        AsyncOnly(where, "channelCapacity", target.ChannelCapacity is not null, target.Type, errors);
        AsyncOnly(where, "claimCheck", target.ClaimCheck is not null, target.Type, errors);
    }

    /// <summary>Checks <c>binaryMediaTypes</c> and every route whose target is a sync kind.</summary>
    public static void Validate(IngestConfig config, IReadOnlyDictionary<string, ISyncTargetKind>? kinds, ICollection<string> errors)
    {
        for (var i = 0; i < config.BinaryMediaTypes.Count; i++)
        {
            var type = config.BinaryMediaTypes[i]?.Trim() ?? "";
            var slash = type.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == type.Length - 1 || type.IndexOf('/', slash + 1) >= 0 || type.Any(c => c <= ' ' || c == ';'))
            {
                errors.Add($"binaryMediaTypes[{i}]: '{type}' is not a media type. Write type/subtype, e.g. image/png, image/* or application/octet-stream.");
            }
        }
        if (kinds is null || kinds.Count == 0)
        {
            return;
        }
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            if (route.Target is null || !config.Targets.TryGetValue(route.Target, out var target) || !kinds.TryGetValue(target.Type, out var kind))
            {
                continue;
            }
            var where = $"routes[{i}] ({route.Route})";
            if (route.Ack is "durable" or "delivered")
            {
                errors.Add($"{where}.ack: '{route.Ack}' applies to queue and stream targets; target '{route.Target}' ({target.Type}) answers with the backend's response. Remove ack from this route.");
            }
            if (route.Split != "none")
            {
                errors.Add($"{where}.split: '{route.Split}' applies to queue and stream targets; target '{route.Target}' ({target.Type}) gets the request as one call. Remove split from this route.");
            }
            if (route.Timeout is { } timeout && timeout <= TimeSpan.Zero)
            {
                errors.Add($"{where}.timeout: must be above zero, e.g. 29s.");
            }
            kind.ValidateRoute(where, route, target, errors);
        }
    }

    private static void AsyncOnly(string where, string key, bool used, string type, ICollection<string> errors)
    {
        if (used)
        {
            errors.Add($"{where}.{key}: applies to queue and stream targets, not to type {type} (a request/response backend). Remove the key.");
        }
    }
}
