using System.Net;
using Ingest.Core.Auth;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Resilience;
using Ingest.Core.Routing;
using Ingest.Core.Security;
using Ingest.Core.Throttling;

namespace Ingest.Core.Configuration;

/// <summary>
/// Checks a bound configuration and collects every problem at once, each naming the route or
/// target and the fix. Never prints a secret value.
/// </summary>
public static class ConfigValidator
{
    public static readonly string[] CompatModes = ["http-v2", "rest-v1"];
    public static readonly string[] AckLevels = ["memory", "durable", "delivered"];
    public static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
    public static readonly string[] Protocols = ["http1", "http2", "http1AndHttp2"];

    /// <summary>Returns every problem; an empty list means the configuration can be deployed.</summary>
    /// <param name="config">The bound configuration.</param>
    /// <param name="kinds">Async (queue, stream) target kinds by type.</param>
    /// <param name="syncKinds">Sync (request/response) target kinds by type; null: none.</param>
    public static List<string> Validate(IngestConfig config, IReadOnlyDictionary<string, ITargetKind> kinds, IReadOnlyDictionary<string, Integration.ISyncTargetKind>? syncKinds = null)
    {
        var errors = new List<string>();
        ValidateListeners(config, errors);
        OneOf("compat", config.Compat, CompatModes, errors);
        OneOf("defaults.ack", config.Defaults.Ack, AckLevels, errors);
        Pipeline.Wal.WalValidation.Validate(config, errors);
        Positive("memory.bufferBytes", config.Memory.BufferBytes, errors);
        if (config.Defaults.Timeout <= TimeSpan.Zero)
        {
            errors.Add("defaults.timeout: must be above zero, e.g. 29s.");
        }
        if (config.AccessLog.BufferLines <= 0)
        {
            errors.Add("accessLog.bufferLines: must be above zero, e.g. 65536.");
        }
        SecurityValidation.Validate(config, errors);
        Firewall.FirewallValidation.Validate(config, errors);
        AuthValidation.Validate(config, errors);
        ThrottleValidation.Validate(config, errors);
        PayloadValidation.Validate(config, errors);
        Idempotency.IdempotencyValidation.Validate(config, errors);
        Pipeline.ClaimCheck.ClaimCheckValidation.Validate(config, kinds, errors);
        CircuitBreakerValidation.Validate(config, errors);
        Tls.TlsValidation.Validate(config, errors);
        Domains.DomainValidation.Validate(config, errors);
        AdminListenerValidation.Validate(config, errors);
        Deployment.StagesValidation.Validate(config, errors);
        Templates.TemplatesValidation.Validate(config, errors);
        Caching.ResponseCacheValidation.Validate(config, syncKinds, errors);
        WebSockets.WebSocketValidation.Validate(config, kinds, errors);

        foreach (var (name, target) in config.Targets)
        {
            ValidateTarget(name, target, config, kinds, syncKinds, errors);
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            ValidateRoute(i, config.Routes[i], config, keys, errors);
        }
        Integration.SyncTargetsValidation.Validate(config, syncKinds, errors);
        return errors;
    }

    private static void ValidateListeners(IngestConfig config, List<string> errors)
    {
        for (var i = 0; i < config.Listen.Count; i++)
        {
            var listener = config.Listen[i];
            if (!IPEndPoint.TryParse(listener.Address, out _))
            {
                errors.Add($"listen[{i}].address: '{listener.Address}' is not host:port. Write e.g. 127.0.0.1:8080 or [::]:8080.");
            }
            OneOf($"listen[{i}].protocols", listener.Protocols, Protocols, errors);
        }
        if (!IPEndPoint.TryParse(config.Admin.Listen, out _))
        {
            errors.Add($"admin.listen: '{config.Admin.Listen}' is not host:port. Write e.g. 127.0.0.1:9090.");
        }
    }

    private static void ValidateTarget(string name, TargetOptions target, IngestConfig config, IReadOnlyDictionary<string, ITargetKind> kinds, IReadOnlyDictionary<string, Integration.ISyncTargetKind>? syncKinds, List<string> errors)
    {
        var where = $"targets.{name}";
        if (target.Type == "blackhole")
        {
            return;
        }
        if (syncKinds is not null && syncKinds.TryGetValue(target.Type, out var syncKind))
        {
            Integration.SyncTargetsValidation.ValidateTarget(name, target, syncKind, config, errors);
            return;
        }
        if (!kinds.TryGetValue(target.Type, out var kind))
        {
            var known = string.Join(", ", kinds.Keys.Concat(syncKinds?.Keys ?? []).Append("blackhole").Order(StringComparer.Ordinal));
            errors.Add(string.IsNullOrEmpty(target.Type)
                ? $"{where}.type: missing. Set one of: {known}."
                : $"{where}.type: '{target.Type}' is not a target kind this build has. Use one of: {known}.");
            return;
        }
        kind.Validate(name, target, errors);
        var limits = kind.ServiceLimits(target);
        if (target.Batch is { } batch)
        {
            if (batch.MaxRecords is { } records && (records < 1 || records > limits.MaxRecords))
            {
                errors.Add($"{where}.batch.maxRecords: {records} is outside 1..{limits.MaxRecords}, the service limit.");
            }
            if (batch.MaxBytes is { } bytes && (bytes < limits.MaxRecordBytes || bytes > limits.MaxBatchBytes))
            {
                errors.Add($"{where}.batch.maxBytes: {bytes} must be between the record limit {limits.MaxRecordBytes} and the call limit {limits.MaxBatchBytes}.");
            }
            if (batch.Linger is { } linger && (linger < TimeSpan.Zero || linger > TimeSpan.FromSeconds(10)))
            {
                errors.Add($"{where}.batch.linger: must be between 0ms and 10s, e.g. 20ms.");
            }
            if (batch.MaxInFlight is { } inFlight && (inFlight < 1 || inFlight > 256))
            {
                errors.Add($"{where}.batch.maxInFlight: {inFlight} is outside 1..256.");
            }
        }
        if (target.Retry is { } retry)
        {
            if (retry.MaxAttempts < 1)
            {
                errors.Add($"{where}.retry.maxAttempts: must be at least 1.");
            }
            if (retry.BaseDelay <= TimeSpan.Zero || retry.MaxDelay < retry.BaseDelay)
            {
                errors.Add($"{where}.retry: baseDelay must be above zero and maxDelay at least baseDelay.");
            }
        }
        if (target.ChannelCapacity is { } capacity && capacity < 1)
        {
            errors.Add($"{where}.channelCapacity: must be at least 1.");
        }
        if (target.DeadLetter is { } deadLetter)
        {
            if (deadLetter.Target is { } other)
            {
                if (!config.Targets.ContainsKey(other) || other == name)
                {
                    errors.Add($"{where}.deadLetter.target: '{other}' is not another target. Name one under targets, or use type: file.");
                }
            }
            else if (deadLetter.Type != "file")
            {
                errors.Add($"{where}.deadLetter: set type: file (with path) or target: NAME.");
            }
        }
    }

    private static void ValidateRoute(int index, RouteOptions route, IngestConfig config, HashSet<string> keys, List<string> errors)
    {
        var where = $"routes[{index}] ({route.Route})";
        var space = route.Route.IndexOf(' ', StringComparison.Ordinal);
        if (WebSockets.WebSocketRouteKey.IsWebSocket(route.Route))
        {
            // WEBSOCKET $connect, $default, KEY: checked by WebSocketValidation.
        }
        else if (space <= 0)
        {
            errors.Add($"{where}.route: write it as 'METHOD /path', e.g. 'POST /v1/events'.");
        }
        else
        {
            var method = route.Route[..space];
            if (!Methods.Contains(method, StringComparer.Ordinal))
            {
                errors.Add($"{where}.route: method '{method}' must be one of {string.Join(", ", Methods)} (upper case).");
            }
            if (RouteTemplate.TryParse(route.Route[(space + 1)..], out var templateError) is null)
            {
                errors.Add($"{where}.route: {templateError}.");
            }
            if (!keys.Add(route.Route))
            {
                errors.Add($"{where}.route: defined twice. Remove one of them.");
            }
        }

        if (string.IsNullOrEmpty(route.Target))
        {
            errors.Add($"{where}.target: missing. Name one of the targets.");
        }
        else if (!config.Targets.ContainsKey(route.Target))
        {
            errors.Add($"{where}.target: '{route.Target}' is not defined under targets.");
        }

        if (route.Ack is { } ack)
        {
            OneOf($"{where}.ack", ack, AckLevels, errors);
        }
        foreach (var header in route.Headers)
        {
            if (string.IsNullOrWhiteSpace(header) || header.Any(c => c <= ' ' || c == ':'))
            {
                errors.Add($"{where}.headers: '{header}' is not a header name.");
            }
        }
        if (route.Cors is { } cors)
        {
            if (cors.Origins.Count == 0)
            {
                errors.Add($"{where}.cors.origins: list the allowed origins, e.g. [\"https://app.example\"] (or [\"*\"]).");
            }
            if (cors.MaxAge is < 0)
            {
                errors.Add($"{where}.cors.maxAge: must be zero or more seconds.");
            }
        }
    }

    private static void OneOf(string where, string value, string[] allowed, List<string> errors)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            errors.Add($"{where}: '{value}' must be one of {string.Join(", ", allowed)}.");
        }
    }

    private static void Positive(string where, long value, List<string> errors)
    {
        if (value <= 0)
        {
            errors.Add($"{where}: must be above zero.");
        }
    }

    private static void NotYet(string where, bool used, string feature, List<string> errors)
    {
        if (used)
        {
            errors.Add($"{where}: not supported by this build yet ({feature}); remove the key.");
        }
    }
}
