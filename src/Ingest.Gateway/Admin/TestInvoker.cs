using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Requests;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Admin;

/// <summary>
/// State of one admin test-invoke while the real request handler runs it: the execution trace
/// (created by the handler once it knows the request id) and the events a dry run captured
/// instead of queueing them.
/// </summary>
internal sealed class TestInvocation(TimeProvider time)
{
    public ExecutionTrace? Trace { get; private set; }

    public List<IngestEvent> Events { get; } = [];

    /// <summary>Sync routes: what the backend answered (status, latency) or why the call failed.</summary>
    public (int? Status, double? LatencyMs, string? Error)? Integration { get; private set; }

    /// <summary>Called by the handler when a matched request is done.</summary>
    public void Integrated(Ingest.Core.Requests.RequestContext context, string? error)
    {
        if (context.Route.SyncTarget is not null)
        {
            Integration = (context.IntegrationStatus, context.IntegrationLatencyMs, error);
        }
    }

    /// <summary>Called by the handler when the route matched.</summary>
    public ExecutionTrace Begin(Guid requestId) => Trace = new ExecutionTrace(requestId, logger: null, time, keepLines: true);
}

/// <summary>A parsed <c>POST /admin/test-invoke</c> body.</summary>
/// <param name="Method">HTTP method. Default: POST.</param>
/// <param name="Path">Path and optional query, e.g. <c>/v1/events?x=1</c>.</param>
/// <param name="Headers">Request headers, as given.</param>
/// <param name="Body">Body bytes: a JSON string is sent as its text, any other JSON value as its JSON text.</param>
internal sealed record TestInvokeRequest(string Method, string Path, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    /// <summary>Parses the admin request body, or returns the message of a 400.</summary>
    public static TestInvokeRequest? Parse(JsonElement root, out string? error)
    {
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "Body must be a JSON object: {\"method\":\"POST\",\"path\":\"/v1/events\",\"headers\":{},\"body\":\"...\"}.";
            return null;
        }
        var method = root.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()!.ToUpperInvariant() : "POST";
        if (!root.TryGetProperty("path", out var p) || p.ValueKind != JsonValueKind.String || !p.GetString()!.StartsWith('/'))
        {
            error = "path: required, starting with '/', e.g. \"/v1/events\".";
            return null;
        }
        var headers = new List<KeyValuePair<string, string>>();
        if (root.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in h.EnumerateObject())
            {
                headers.Add(new(header.Name, header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString()! : header.Value.GetRawText()));
            }
        }
        byte[] body = [];
        if (root.TryGetProperty("bodyBase64", out var b64) && b64.ValueKind == JsonValueKind.String)
        {
            body = b64.GetBytesFromBase64();
        }
        else if (root.TryGetProperty("body", out var b) && b.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
        {
            body = Encoding.UTF8.GetBytes(b.ValueKind == JsonValueKind.String ? b.GetString()! : b.GetRawText());
        }
        return new TestInvokeRequest(method, p.GetString()!, headers, body);
    }
}

/// <summary>
/// Runs a request through the real route table and lifecycle (the same
/// <see cref="IngestRequestHandler"/>) without the resource policy, and as a dry run: async
/// targets are not written to; the envelope that would have been sent is returned instead. Like
/// API Gateway's test-invoke-method, it answers status, headers, body, latency, the transformed
/// request and the execution log. Test invocations are not access-logged or counted in metrics.
/// </summary>
internal sealed class TestInvoker(IngestRequestHandler handler, GatewayRuntime runtime, GatewayOptions options)
{
    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
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

    public async Task WriteAsync(HttpContext admin, TestInvokeRequest request, Utf8JsonWriter json)
    {
        var http = new DefaultHttpContext();
        var target = request.Path.IndexOf('?', StringComparison.Ordinal) is var q and >= 0
            ? (Path: request.Path[..q], Query: request.Path[q..])
            : (Path: request.Path, Query: "");
        http.Request.Method = request.Method;
        http.Request.Scheme = "http";
        http.Request.Host = new HostString("test-invoke");
        http.Request.Path = new PathString(target.Path);
        http.Request.QueryString = new QueryString(target.Query);
        foreach (var (name, value) in request.Headers)
        {
            http.Request.Headers.Append(name, value);
        }
        if (request.Body.Length > 0 || request.Method is "POST" or "PUT" or "PATCH")
        {
            http.Request.ContentLength ??= request.Body.Length;
        }
        http.Request.Body = new MemoryStream(request.Body, writable: false);
        var responseBody = new MemoryStream();
        http.Response.Body = responseBody;
        http.Connection.RemoteIpAddress = admin.Connection.RemoteIpAddress ?? IPAddress.Loopback;
        http.RequestServices = admin.RequestServices;
        http.RequestAborted = admin.RequestAborted;

        var invocation = new TestInvocation(options.TimeProvider);
        var started = Stopwatch.GetTimestamp();
        await handler.HandleAsync(http, invocation);
        await http.Response.BodyWriter.FlushAsync(admin.RequestAborted);
        var latency = Stopwatch.GetElapsedTime(started);

        var log = invocation.Trace?.Lines.ToList() ?? [];
        if (invocation.Trace is null)
        {
            log.Add($"No route matches {request.Method} {target.Path}: the gateway answered {http.Response.StatusCode}.");
        }

        json.WriteStartObject();
        json.WriteNumber("status", http.Response.StatusCode);
        json.WriteStartObject("headers");
        foreach (var (name, value) in http.Response.Headers)
        {
            json.WriteString(name, value.ToString());
        }
        json.WriteEndObject();
        var bytes = responseBody.ToArray();
        json.WriteString("body", Encoding.UTF8.GetString(bytes));
        json.WriteNumber("latencyMs", Math.Round(latency.TotalMilliseconds, 3));
        Deployments.StagesReport.WriteMatchedStage(json, runtime.Current, http.Request);
        if (invocation.Integration is { } integration)
        {
            // Sync routes: the backend was called for real, as test-invoke-method does.
            json.WriteStartObject("integration");
            WriteNullable(json, "status", integration.Status);
            WriteNullable(json, "latencyMs", integration.LatencyMs is { } ms ? Math.Round(ms, 3) : null);
            json.WriteString("error", integration.Error);
            json.WriteEndObject();
        }
        json.WritePropertyName("transformedRequest");
        if (invocation.Events.Count == 0)
        {
            json.WriteNullValue();
        }
        else
        {
            var routeTarget = invocation.Events[0].RouteKey is { } routeKey
                ? runtime.Current.RouteList.FirstOrDefault(r => r.RouteKey == routeKey)?.Target.Name
                : null;
            // With stages, the route of the request's stage (its target may be a per-stage instance, name@stage).
            runtime.Current.RoutesFor(http.Request).Match(http.Request.Method, http.Request.Path.Value ?? "/", out var matched, out _, out _);
            routeTarget = matched?.Target.Name ?? routeTarget;
            var configTarget = routeTarget is not null && !runtime.Current.Config.Targets.ContainsKey(routeTarget) && routeTarget.LastIndexOf('@') is var at and > 0
                ? routeTarget[..at]
                : routeTarget;
            json.WriteStartObject();
            json.WriteString("target", routeTarget);
            json.WriteString("type", configTarget is not null && runtime.Current.Config.Targets.TryGetValue(configTarget, out var t) ? t.Type : null);
            json.WriteBoolean("dryRun", true);
            json.WriteStartArray("events");
            foreach (var e in invocation.Events)
            {
                ExecutionTrace.WriteEnvelope(json, e);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteStartArray("log");
        foreach (var line in log)
        {
            json.WriteStringValue(line);
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
