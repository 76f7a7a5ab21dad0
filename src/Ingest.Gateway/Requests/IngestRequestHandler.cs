using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Ingest.Core.Deployment;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Core.Routing;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Ingest.Gateway.Requests;

/// <summary>
/// The request lifecycle of DESIGN.md for one request: route match, payload checks, envelope,
/// enqueue, answer. Every outcome, rejections included, is access-logged and counted.
/// </summary>
internal sealed class IngestRequestHandler(
    GatewayRuntime runtime,
    IngestMetrics metrics,
    AccessLogWriter accessLog,
    GatewayOptions options)
{
    private readonly TimeProvider _time = options.TimeProvider;

    public async Task HandleAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var request = context.Request;
        var response = context.Response;
        var requestId = Guid.CreateVersion7(_time.GetUtcNow());
        var headers = request.Headers;
        var traceParent = TraceContext.Next(headers.TryGetValue("traceparent", out var incomingTrace) ? incomingTrace.ToString() : null);
        response.Headers["x-request-id"] = requestId.ToString();
        response.Headers["traceparent"] = traceParent;

        var snapshot = runtime.Current;
        var log = new AccessLogEntry
        {
            RequestId = requestId,
            ClientRequestId = headers.TryGetValue("x-request-id", out var clientId) ? clientId.ToString() : null,
            RequestTimeMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            HttpMethod = request.Method,
            Path = request.Path.Value ?? "/",
            SourceIp = context.Connection.RemoteIpAddress,
            UserAgent = headers.UserAgent.Count > 0 ? headers.UserAgent.ToString() : null,
        };

        CompiledRoute? route = null;
        try
        {
            switch (snapshot.Routes.Match(request.Method, log.Path, out route, out _, out var allow))
            {
                case RouteMatchKind.NotFound:
                    log.ResponseLength = GatewayResponses.WriteError(context, snapshot.RestV1 ? 403 : 404,
                        snapshot.RestV1 ? GatewayResponses.MissingAuthenticationToken : GatewayResponses.NotFound);
                    break;
                case RouteMatchKind.MethodNotAllowed:
                    if (snapshot.RestV1)
                    {
                        log.ResponseLength = GatewayResponses.WriteError(context, 403, GatewayResponses.MissingAuthenticationToken);
                    }
                    else
                    {
                        response.Headers.Allow = allow;
                        log.ResponseLength = GatewayResponses.WriteError(context, 405, GatewayResponses.MethodNotAllowed);
                    }
                    break;
                default:
                    log.RouteKey = route!.RouteKey;
                    (log.ResponseLength, log.Events) = await IngestAsync(context, route, requestId, traceParent, log.SourceIp);
                    break;
            }
        }
        catch (BadHttpRequestException e)
        {
            // Malformed or truncated request body, or Kestrel's own size limit.
            log.IntegrationError = e.Message;
            if (!response.HasStarted)
            {
                log.ResponseLength = e.StatusCode == 413
                    ? GatewayResponses.WriteError(context, 413, GatewayResponses.RequestEntityTooLarge)
                    : GatewayResponses.WriteError(context, 400, GatewayResponses.BadRequest);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing was acknowledged.
            log.IntegrationError = "client disconnected";
            response.StatusCode = 499;
        }
        finally
        {
            log.Status = response.StatusCode;
            Record(ref log, route, started);
        }
    }

    private async Task<(long Length, int Events)> IngestAsync(HttpContext context, CompiledRoute route, Guid requestId, string traceParent, System.Net.IPAddress? sourceIp)
    {
        var request = context.Request;
        if (request.ContentLength is { } declared && declared > route.MaxBodyBytes)
        {
            // Refused before reading a byte; closing stops the client from sending the rest.
            context.Response.Headers.Connection = "close";
            return (GatewayResponses.WriteError(context, 413, GatewayResponses.RequestEntityTooLarge), 0);
        }
        if (!route.AllowsContentType(request.ContentType))
        {
            return (GatewayResponses.WriteError(context, 415, GatewayResponses.UnsupportedMediaType), 0);
        }
        if (runtime.Draining)
        {
            return (GatewayResponses.WriteError(context, 503, GatewayResponses.ServiceUnavailable, retryAfterSeconds: 1), 0);
        }
        if (request.ContentLength is { } expected && runtime.Budget.UsedBytes + expected > runtime.Budget.LimitBytes)
        {
            metrics.EventsDropped.Add(1, new KeyValuePair<string, object?>("reason", "buffer_full"));
            return (GatewayResponses.WriteError(context, 503, GatewayResponses.ServiceUnavailable, retryAfterSeconds: 1), 0);
        }

        var body = await ReadBodyAsync(request, route.MaxBodyBytes, context.RequestAborted);
        if (body is null)
        {
            context.Response.Headers.Connection = "close";
            return (GatewayResponses.WriteError(context, 413, GatewayResponses.RequestEntityTooLarge), 0);
        }

        var e = new IngestEvent
        {
            Id = requestId,
            ReceivedAtMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            RouteKey = route.RouteKey,
            SourceIp = sourceIp?.ToString(),
            ContentType = request.ContentType,
            TraceParent = traceParent,
            Headers = CaptureHeaders(request.Headers, route.CapturedHeaders),
            Body = body,
        };
        switch (route.Target.TryEnqueue(e))
        {
            case EnqueueResult.Accepted:
                metrics.EventsAccepted.Add(1);
                return (GatewayResponses.WriteAccepted(context, requestId, 1), 1);
            case EnqueueResult.TooLarge:
                return (GatewayResponses.WriteError(context, 413, GatewayResponses.RequestEntityTooLarge), 0);
            default:
                metrics.EventsDropped.Add(1, new KeyValuePair<string, object?>("reason", "buffer_full"));
                return (GatewayResponses.WriteError(context, 503, GatewayResponses.ServiceUnavailable, retryAfterSeconds: 1), 0);
        }
    }

    /// <summary>Reads the whole body, or returns null once it passes <paramref name="limit"/> (chunked bodies are counted while streamed).</summary>
    internal static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            // Kestrel enforces the same limit underneath us.
            sizeFeature.MaxRequestBodySize = limit + 1;
        }
        var reader = request.BodyReader;
        if (request.ContentLength is { } declared)
        {
            var exact = new byte[declared];
            var filled = 0;
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                if (filled + buffer.Length > declared)
                {
                    reader.AdvanceTo(buffer.End);
                    return null;
                }
                buffer.CopyTo(exact.AsSpan(filled));
                filled += (int)buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || filled == declared)
                {
                    // Kestrel reports a body shorter than Content-Length as BadHttpRequestException.
                    return exact;
                }
            }
        }
        return await ReadChunkedAsync(reader, limit, cancellationToken);
    }

    private static async Task<byte[]?> ReadChunkedAsync(PipeReader reader, long limit, CancellationToken cancellationToken)
    {
        var writer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (writer.WrittenCount + buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }
            foreach (var segment in buffer)
            {
                writer.Write(segment.Span);
            }
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return writer.WrittenSpan.ToArray();
            }
        }
    }

    private static KeyValuePair<string, string>[] CaptureHeaders(IHeaderDictionary headers, string[] names)
    {
        if (names.Length == 0)
        {
            return [];
        }
        var captured = new List<KeyValuePair<string, string>>(names.Length);
        foreach (var name in names)
        {
            if (headers.TryGetValue(name, out var value))
            {
                captured.Add(new(name, value.ToString()));
            }
        }
        return captured.ToArray();
    }

    private void Record(ref AccessLogEntry log, CompiledRoute? route, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        log.LatencyMs = elapsed.TotalMilliseconds;
        var routeTag = new KeyValuePair<string, object?>("route", route?.RouteKey ?? "");
        var stageTag = new KeyValuePair<string, object?>("stage", log.Stage ?? "");
        if (metrics.Requests.Enabled)
        {
            metrics.Requests.Add(1, routeTag, stageTag, new KeyValuePair<string, object?>("status_class", StatusClass(log.Status)));
        }
        if (metrics.RequestLatency.Enabled)
        {
            metrics.RequestLatency.Record(elapsed.TotalSeconds, routeTag, stageTag);
        }
        accessLog.Write(log);
    }

    private static string StatusClass(int status) => status switch
    {
        < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };
}
