using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ingest.Core.Deployment;
using Ingest.Core.Throttling;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Status;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Admin;

/// <summary>
/// The admin port after <c>/metrics</c>: health and readiness (open), the live status page, and
/// the admin API under <c>/admin/</c>, which needs <c>Authorization: Bearer &lt;admin.token&gt;</c>.
/// Every answer is JSON; errors are <c>{"message": "..."}</c> like the gateway's own.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>GET /healthz</term><description>process is up.</description></item>
/// <item><term>GET /readyz</term><description>200 when the config is loaded, the gateway is not draining and every target is reachable; 503 otherwise; each check in the body.</description></item>
/// <item><term>GET /status</term><description>live status page (static HTML; its data needs the token).</description></item>
/// <item><term>GET /status/data</term><description>the page's JSON (token as Bearer header or <c>?token=</c>).</description></item>
/// <item><term>GET /admin/routes</term><description>routes with target, auth kinds, ack and execution-log switch.</description></item>
/// <item><term>GET|PUT /admin/routes/{routeKey}/execution-log</term><description>execution logging of one route, body <c>{"enabled":true}</c>; the route key URL-encoded (<c>POST%20%2Fv1%2Fevents</c>).</description></item>
/// <item><term>GET /admin/targets</term><description>targets with queued, delivered, dead-lettered, retried and reachability.</description></item>
/// <item><term>GET /admin/stages</term><description>stages: name, path prefix, hosts, throttle, variables.</description></item>
/// <item><term>GET /admin/deployment</term><description>the active deployment: loaded at, config hash, route count.</description></item>
/// <item><term>GET|POST /admin/deployments, POST /admin/deployments/{n}/activate</term><description>recorded deployments, deploy, rollback (see DeploymentEndpoints).</description></item>
/// <item><term>GET /admin/usage</term><description>requests and events per API key id.</description></item>
/// <item><term>POST /admin/test-invoke</term><description>run a request through the lifecycle as a dry run.</description></item>
/// <item><term>GET|POST|DELETE /admin/connections/{id}</term><description>a WebSocket connection of this instance: describe it, push a message to it, close it; 410 when not open (see ConnectionsAdmin).</description></item>
/// <item><term>POST /admin/flush-cache[?stage=NAME]</term><description>empty the response caches (every stage's, or one stage's); answers <c>{"flushed":entries}</c>.</description></item>
/// </list>
/// </remarks>
internal sealed class AdminEndpoints(
    GatewayRuntime runtime,
    ExecutionLogSwitches executionLog,
    UsageCounters usage,
    TargetObserver targets,
    DeploymentInfo deployments,
    TestInvoker testInvoker,
    StatusPage statusPage,
    Deployments.DeploymentEndpoints deploymentApi,
    WebSockets.ConnectionsAdmin connectionsApi,
    QuotaUsage? quotas = null,
    Ingest.Core.Caching.ResponseCaches? responseCaches = null)
{
    private const string RoutesPrefix = "/admin/routes/";
    private const string ExecutionLogSuffix = "/execution-log";

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly byte[] NoTokenMessage = Message(
        "The admin API is disabled: set admin.token in the configuration (e.g. token: ${INGEST_ADMIN_TOKEN}) and send it as 'Authorization: Bearer <token>'.");

    private static readonly byte[] UnauthorizedMessage = Message("Unauthorized");

    private volatile TokenHash? _token;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        var path = request.Path.Value ?? "/";
        var method = request.Method;

        if (path == "/healthz")
        {
            await WriteJsonAsync(response, 200, json =>
            {
                json.WriteStartObject();
                json.WriteString("status", "ok");
                json.WriteEndObject();
            });
            return;
        }
        if (path == "/readyz")
        {
            await ReadinessAsync(response);
            return;
        }
        if (path == StatusPage.PagePath || path.StartsWith(StatusPage.PagePath + "/", StringComparison.Ordinal))
        {
            if (path == StatusPage.DataPath && !await AuthorizeAsync(context, allowQueryToken: true))
            {
                return;
            }
            await statusPage.HandleAsync(context, path);
            return;
        }
        if (!path.StartsWith("/admin/", StringComparison.Ordinal))
        {
            await WriteAsync(response, 404, Message("Not Found"));
            return;
        }
        if (!await AuthorizeAsync(context, allowQueryToken: false))
        {
            return;
        }

        switch (method, path)
        {
            case ("GET", "/admin/routes"):
                await WriteJsonAsync(response, 200, WriteRoutes);
                return;
            case ("GET", "/admin/targets"):
                await WriteJsonAsync(response, 200, WriteTargets);
                return;
            case ("GET", "/admin/stages"):
                await WriteJsonAsync(response, 200, WriteStages);
                return;
            case ("GET", "/admin/deployment"):
                await WriteJsonAsync(response, 200, WriteDeployment);
                return;
            case ("GET", "/admin/usage"):
                await UsageAsync(response);
                return;
            case ("POST", "/admin/flush-cache"):
                await FlushCacheAsync(context);
                return;
            case ("POST", "/admin/test-invoke"):
                await TestInvokeAsync(context);
                return;
        }
        if (Deployments.DeploymentEndpoints.Handles(path))
        {
            await deploymentApi.HandleAsync(context, path);
            return;
        }
        if (WebSockets.ConnectionsAdmin.Handles(path))
        {
            await connectionsApi.HandleAsync(context, path);
            return;
        }
        if (path.StartsWith(RoutesPrefix, StringComparison.Ordinal) && path.EndsWith(ExecutionLogSuffix, StringComparison.Ordinal)
            && path.Length > RoutesPrefix.Length + ExecutionLogSuffix.Length)
        {
            await ExecutionLogAsync(context, Uri.UnescapeDataString(path[RoutesPrefix.Length..^ExecutionLogSuffix.Length]));
            return;
        }
        var known = path is "/admin/routes" or "/admin/targets" or "/admin/stages" or "/admin/deployment" or "/admin/usage" or "/admin/flush-cache" or "/admin/test-invoke";
        await WriteAsync(response, known ? 405 : 404, Message(known ? "Method Not Allowed" : "Not Found"));
    }

    /// <summary>Empties the response caches, all or <c>?stage=NAME</c>'s; answers <c>{"flushed":entries}</c>.</summary>
    private Task FlushCacheAsync(HttpContext context)
    {
        string? stage = context.Request.Query.TryGetValue("stage", out var given) ? given.ToString() : null;
        if (stage is not null && !runtime.Current.Config.Stages.Exists(s => s.Name == stage))
        {
            return WriteAsync(context.Response, 404, Message($"No stage '{stage}' in the active deployment."));
        }
        var flushed = responseCaches?.Flush(stage) ?? 0;
        return WriteJsonAsync(context.Response, 200, json =>
        {
            json.WriteStartObject();
            json.WriteNumber("flushed", flushed);
            if (stage is not null)
            {
                json.WriteString("stage", stage);
            }
            json.WriteEndObject();
        });
    }

    /// <summary>Checks the bearer token in constant time. Writes the 401/403 and returns false when it fails.</summary>
    private async Task<bool> AuthorizeAsync(HttpContext context, bool allowQueryToken)
    {
        var expected = ExpectedTokenHash();
        if (expected is null)
        {
            await WriteAsync(context.Response, 403, NoTokenMessage);
            return false;
        }
        string? given = null;
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            given = header[7..].Trim();
        }
        else if (allowQueryToken && context.Request.Query.TryGetValue("token", out var query))
        {
            given = query.ToString();
        }
        // Hashing both sides first makes the comparison constant-time in the length too.
        if (given is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
        {
            return true;
        }
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"ingest-admin\"";
        await WriteAsync(context.Response, 401, UnauthorizedMessage);
        return false;
    }

    private byte[]? ExpectedTokenHash()
    {
        var token = runtime.Current.Config.Admin.Token;
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        var cached = _token;
        if (cached is null || !ReferenceEquals(cached.Source, token))
        {
            cached = new TokenHash(token, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
            _token = cached;
        }
        return cached.Hash;
    }

    private sealed record TokenHash(string Source, byte[] Hash);

    private Task ReadinessAsync(HttpResponse response)
    {
        GatewaySnapshot? snapshot = null;
        try
        {
            snapshot = runtime.Current;
        }
        catch (InvalidOperationException)
        {
            // Not started yet.
        }
        var checks = new List<(string Name, bool Ok, string Detail)>
        {
            ("config", snapshot is not null, snapshot is null ? "no configuration deployed yet" : $"{snapshot.RouteList.Count} routes, {snapshot.Config.Targets.Count} targets"),
            ("draining", !runtime.Draining, runtime.Draining ? "shutting down: not taking new requests" : "accepting requests"),
        };
        if (runtime.Wal is { } wal)
        {
            // Full is not unready: durable requests get 503 with Retry-After until deliveries free space.
            checks.Add(("wal", wal.LastError is null, wal.LastError is { } walError
                ? $"WAL not writable: {walError}"
                : $"WAL writable ({wal.UsedBytes} of {wal.Settings.MaxBytes} bytes used{(wal.UsedBytes >= wal.Settings.MaxBytes * 95 / 100 ? ", nearly full" : "")})"));
        }
        foreach (var (name, target) in runtime.Targets.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var health = targets.Health(name);
            checks.Add(($"target:{name}", health.Reachable, health.Reachable
                ? $"reachable ({health.Delivered} delivered)"
                : $"unreachable: {health.ConsecutiveFailures} failed sends since the last delivery (last failure {health.LastFailure:O})"));
            if (target is Core.Pipeline.BatchingWriter { Circuit: var circuit and not Core.Pipeline.Resilience.BreakerState.Closed })
            {
                checks.Add(($"circuit:{name}", circuit != Core.Pipeline.Resilience.BreakerState.Open, circuit == Core.Pipeline.Resilience.BreakerState.Open
                    ? "open: the backend keeps failing; no batches are sent and queued events wait"
                    : "half-open: one probe batch is being sent"));
            }
        }
        var ready = checks.TrueForAll(c => c.Ok);
        return WriteJsonAsync(response, ready ? 200 : 503, json =>
        {
            json.WriteStartObject();
            json.WriteString("status", ready ? "ready" : runtime.Draining ? "draining" : snapshot is null ? "starting" : "degraded");
            json.WriteStartArray("checks");
            foreach (var (name, ok, detail) in checks)
            {
                json.WriteStartObject();
                json.WriteString("name", name);
                json.WriteBoolean("ok", ok);
                json.WriteString("detail", detail);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private void WriteRoutes(Utf8JsonWriter json)
    {
        var snapshot = runtime.Current;
        json.WriteStartObject();
        json.WriteStartArray("routes");
        foreach (var route in snapshot.Config.Routes)
        {
            var compiled = snapshot.RouteList.FirstOrDefault(r => r.RouteKey == route.Route);
            json.WriteStartObject();
            json.WriteString("routeKey", route.Route);
            json.WriteString("target", route.Target);
            json.WriteString("targetType", snapshot.Config.Targets.TryGetValue(route.Target, out var t) ? t.Type : null);
            json.WriteStartArray("auth");
            foreach (var kind in route.Auth)
            {
                json.WriteStringValue(kind);
            }
            json.WriteEndArray();
            json.WriteBoolean("public", route.Public);
            json.WriteString("ack", compiled?.Ack ?? route.Ack ?? snapshot.Config.Defaults.Ack);
            json.WriteNumber("timeoutMs", (compiled?.Timeout ?? snapshot.Config.Defaults.Timeout).TotalMilliseconds);
            json.WriteNumber("maxBodyBytes", compiled?.Payload.MaxBodyBytes ?? route.MaxBodyBytes ?? snapshot.Config.Defaults.MaxBodyBytes);
            json.WriteString("split", route.Split);
            json.WriteBoolean("executionLog", executionLog.IsEnabled(route.Route));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteTargets(Utf8JsonWriter json)
    {
        var config = runtime.Current.Config;
        json.WriteStartObject();
        json.WriteStartArray("targets");
        foreach (var (name, target) in runtime.Targets.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var health = targets.Health(name);
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("type", config.Targets.TryGetValue(name, out var options) ? options.Type : null);
            json.WriteNumber("queued", target.QueuedCount);
            json.WriteNumber("delivered", health.Delivered);
            json.WriteNumber("deadLettered", health.DeadLettered);
            json.WriteNumber("retried", health.Retried);
            json.WriteBoolean("reachable", health.Reachable);
            json.WriteNumber("consecutiveFailures", health.ConsecutiveFailures);
            WriteTime(json, "lastDelivery", health.LastDelivery);
            WriteTime(json, "lastFailure", health.LastFailure);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteStages(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("stages");
        foreach (var stage in runtime.Current.Config.Stages)
        {
            Deployments.StagesReport.Write(json, stage);
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteDeployment(Utf8JsonWriter json)
    {
        var current = deployments.Observe(runtime.Current);
        json.WriteStartObject();
        json.WriteStartObject("current");
        if (deploymentApi.ActiveNumber is { } number)
        {
            json.WriteNumber("number", number);
        }
        json.WriteString("loadedAt", current.LoadedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteString("configSha256", current.ConfigSha256);
        json.WriteNumber("routes", current.Routes);
        json.WriteNumber("targets", current.Targets);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private async Task UsageAsync(HttpResponse response)
    {
        var config = runtime.Current.Config;
        var rows = new List<(string KeyId, long Requests, long Events, QuotaStatus? Quota)>();
        foreach (var (keyId, requests, events) in usage.Snapshot(config.ApiKeys.Select(k => k.Id)))
        {
            var quota = keyId != UsageCounters.Anonymous && quotas is not null ? await quotas.GetAsync(config, keyId) : null;
            rows.Add((keyId, requests, events, quota));
        }
        await WriteJsonAsync(response, 200, json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("usage");
            foreach (var (keyId, requests, events, quota) in rows)
            {
                json.WriteStartObject();
                if (keyId == UsageCounters.Anonymous)
                {
                    json.WriteNull("apiKeyId");
                }
                else
                {
                    json.WriteString("apiKeyId", keyId);
                }
                json.WriteNumber("requests", requests);
                json.WriteNumber("events", events);
                if (quota is null)
                {
                    // No usage plan with a quota for this key.
                    json.WriteNull("quotaRemaining");
                    json.WriteNull("quota");
                }
                else
                {
                    json.WriteNumber("quotaRemaining", quota.Remaining);
                    json.WriteStartObject("quota");
                    json.WriteString("plan", quota.Plan);
                    json.WriteNumber("limit", quota.Limit);
                    json.WriteNumber("used", quota.Used);
                    json.WriteString("period", quota.Period);
                    json.WriteString("resetsAt", quota.ResetsAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                    json.WriteBoolean("shared", quota.Shared);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private async Task TestInvokeAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
        }
        catch (JsonException e)
        {
            await WriteAsync(context.Response, 400, Message($"Body is not JSON: {e.Message}"));
            return;
        }
        using (document)
        {
            var request = TestInvokeRequest.Parse(document.RootElement, out var error);
            if (request is null)
            {
                await WriteAsync(context.Response, 400, Message(error!));
                return;
            }
            var buffer = new MemoryStream();
            await using (var json = new Utf8JsonWriter(buffer, JsonOptions))
            {
                await testInvoker.WriteAsync(context, request, json);
            }
            await WriteAsync(context.Response, 200, buffer.ToArray());
        }
    }

    private async Task ExecutionLogAsync(HttpContext context, string routeKey)
    {
        var response = context.Response;
        if (!runtime.Current.RouteList.Any(r => r.RouteKey == routeKey))
        {
            await WriteAsync(response, 404, Message($"No route '{routeKey}'. GET /admin/routes lists the route keys; URL-encode the key, e.g. POST%20%2Fv1%2Fevents."));
            return;
        }
        if (context.Request.Method == "PUT")
        {
            bool? enabled = null;
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("enabled", out var value)
                    && value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    enabled = value.GetBoolean();
                }
            }
            catch (JsonException)
            {
                // Reported below.
            }
            if (enabled is null)
            {
                await WriteAsync(response, 400, Message("Body must be {\"enabled\": true} or {\"enabled\": false}."));
                return;
            }
            executionLog.Set(routeKey, enabled.Value);
        }
        else if (context.Request.Method != "GET")
        {
            response.Headers.Allow = "GET, PUT";
            await WriteAsync(response, 405, Message("Method Not Allowed"));
            return;
        }
        await WriteJsonAsync(response, 200, json =>
        {
            json.WriteStartObject();
            json.WriteString("routeKey", routeKey);
            json.WriteBoolean("enabled", executionLog.IsEnabled(routeKey));
            json.WriteEndObject();
        });
    }

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            json.WriteString(name, value.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    internal static byte[] Message(string message)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("message", message);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    internal static Task WriteJsonAsync(HttpResponse response, int status, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            write(json);
        }
        return WriteAsync(response, status, buffer.ToArray());
    }

    private static Task WriteAsync(HttpResponse response, int status, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body).AsTask();
    }
}
