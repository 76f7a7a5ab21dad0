using System.Collections.Frozen;
using System.Globalization;
using Ingest.Gateway.Admin;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Status;

/// <summary>
/// The live status page on the admin port: <c>GET /status</c> is a static page (embedded HTML,
/// CSS and a small script, no data in it, so it needs no token) that polls <c>GET /status/data</c>
/// every second. The data needs the admin token, sent by the page as a Bearer header; the page
/// takes it from <c>#token=...</c> in its URL (never sent to a server), <c>?token=...</c>, or a
/// field on the page, and keeps it in the tab's sessionStorage.
/// </summary>
internal sealed class StatusPage(GatewayRuntime runtime, StatusBoard board, TargetObserver targets, GatewayOptions options)
{
    public const string PagePath = "/status";
    public const string DataPath = "/status/data";

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, (string ContentType, byte[] Bytes)> Assets = new Dictionary<string, (string, byte[])>
    {
        [PagePath] = ("text/html; charset=utf-8", Load("status.html")),
        [PagePath + "/status.js"] = ("text/javascript; charset=utf-8", Load("status.js")),
        [PagePath + "/status.css"] = ("text/css; charset=utf-8", Load("status.css")),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public async Task HandleAsync(HttpContext context, string path)
    {
        var response = context.Response;
        if (context.Request.Method is not ("GET" or "HEAD"))
        {
            response.Headers.Allow = "GET, HEAD";
            await AdminEndpoints.WriteJsonAsync(response, 405, json =>
            {
                json.WriteStartObject();
                json.WriteString("message", "Method Not Allowed");
                json.WriteEndObject();
            });
            return;
        }
        if (path == DataPath)
        {
            await AdminEndpoints.WriteJsonAsync(response, 200, WriteData);
            return;
        }
        if (!Assets.TryGetValue(path, out var asset))
        {
            await AdminEndpoints.WriteJsonAsync(response, 404, json =>
            {
                json.WriteStartObject();
                json.WriteString("message", "Not Found");
                json.WriteEndObject();
            });
            return;
        }
        response.StatusCode = 200;
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Bytes.Length;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XFrameOptions = "DENY";
        // The page may carry ?token=: never let it leak through a Referer.
        response.Headers["Referrer-Policy"] = "no-referrer";
        await response.Body.WriteAsync(asset.Bytes, context.RequestAborted);
    }

    private void WriteData(System.Text.Json.Utf8JsonWriter json)
    {
        var snapshot = runtime.Current;
        json.WriteStartObject();
        json.WriteString("generatedAt", options.TimeProvider.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        json.WriteNumber("windowSeconds", SecondWindow.Seconds);
        json.WriteStartArray("routes");
        foreach (var (route, s) in board.Summarize(snapshot.RouteList.Select(r => r.RouteKey)))
        {
            json.WriteStartObject();
            json.WriteString("route", route);
            json.WriteNumber("requests", s.Count);
            json.WriteNumber("lastSecond", s.LastSecond);
            json.WriteNumber("ratePerSecond", Rate(s.Count));
            json.WriteNumber("errors4xx", s.Errors4xx);
            json.WriteNumber("errors5xx", s.Errors5xx);
            json.WriteNumber("rate4xx", Rate(s.Errors4xx));
            json.WriteNumber("rate5xx", Rate(s.Errors5xx));
            Number(json, "p50Ms", s.P50Ms);
            Number(json, "p95Ms", s.P95Ms);
            Number(json, "p99Ms", s.P99Ms);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("targets");
        foreach (var (name, target) in runtime.Targets.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var health = targets.Health(name);
            var lag = targets.Lag(name);
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("type", snapshot.Config.Targets.TryGetValue(name, out var options) ? options.Type : null);
            json.WriteNumber("queued", target.QueuedCount);
            json.WriteNumber("delivered", health.Delivered);
            json.WriteNumber("deadLettered", health.DeadLettered);
            json.WriteBoolean("reachable", health.Reachable);
            json.WriteNumber("lagSamples", lag.Count);
            Number(json, "lagP50Ms", lag.P50Ms);
            Number(json, "lagP95Ms", lag.P95Ms);
            Number(json, "lagP99Ms", lag.P99Ms);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static double Rate(long count) => Math.Round(count / (double)SecondWindow.Seconds, 3);

    private static void Number(System.Text.Json.Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static byte[] Load(string name)
    {
        var assembly = typeof(StatusPage).Assembly;
        var resource = $"Ingest.Gateway.Status.Assets.{name}";
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing from {assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
