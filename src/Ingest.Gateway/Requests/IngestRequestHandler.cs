using System.Diagnostics;
using System.Text.Json;
using Ingest.Core.Cors;
using Ingest.Core.Deployment;
using Ingest.Core.Diagnostics;
using Ingest.Core.Domains;
using Ingest.Core.Events;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Acknowledgement;
using Ingest.Core.Requests;
using Ingest.Core.Routing;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Admin;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Status;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Requests;

/// <summary>
/// The request lifecycle of DESIGN.md for one request, in order: route match, resource policy,
/// CORS preflight, authentication, throttling, payload checks, envelope, enqueue, answer.
/// Every outcome, rejections included, is access-logged and counted.
/// </summary>
internal sealed class IngestRequestHandler(
    GatewayRuntime runtime,
    IngestMetrics metrics,
    AccessLogWriter accessLog,
    GatewayOptions options,
    ExecutionLogSwitches executionLog,
    UsageCounters usage,
    StatusBoard status,
    Integration.SyncInvoker sync)
{
    private static readonly KeyValuePair<string, object?> BufferFullReason = new("reason", "buffer_full");
    private static readonly Rejection RequestTimeout = new(408, "Request Timeout");
    private readonly TimeProvider _time = options.TimeProvider;

    public Task HandleAsync(HttpContext http) => HandleAsync(http, invocation: null);

    /// <summary>
    /// Runs one request. <paramref name="invocation"/> is set by the admin test-invoke: no resource
    /// policy, events captured instead of queued, execution log kept, nothing access-logged or counted.
    /// </summary>
    internal async Task HandleAsync(HttpContext http, TestInvocation? invocation)
    {
        var started = Stopwatch.GetTimestamp();
        var request = http.Request;
        var response = http.Response;
        var now = _time.GetUtcNow();
        var requestId = RequestId.NewVersion7(now);
        var headers = request.Headers;
        var traceParent = TraceContext.Next(headers.TryGetValue("traceparent", out var incomingTrace) ? incomingTrace.ToString() : null);
        response.Headers["x-request-id"] = requestId.ToString();
        response.Headers["traceparent"] = traceParent;

        // Counted in, so a deployment drains replaced targets only after requests using them finish.
        var snapshot = runtime.Enter();
        var log = new AccessLogEntry
        {
            RequestId = requestId,
            ClientRequestId = headers.TryGetValue("x-request-id", out var clientId) ? clientId.ToString() : null,
            RequestTimeMs = now.ToUnixTimeMilliseconds(),
            HttpMethod = request.Method,
            Path = request.Path.Value ?? "/",
            UserAgent = headers.UserAgent.Count > 0 ? headers.UserAgent.ToString() : null,
        };

        CompiledRoute? route = null;
        RequestContext? context = null;
        try
        {
            log.SourceIp = snapshot.ClientAddress.Resolve(http);
            // Custom domains: api.example.com/v2/x is matched as /{stage}/x (the access log keeps the path as sent).
            var path = log.Path;
            if (!DomainRouting.TryRewrite(snapshot.Config, request, ref path, out var unmappedBasePath))
            {
                log.ResponseLength = GatewayResponses.Write(http, unmappedBasePath!);
                return;
            }
            var routes = snapshot.RoutesFor(request);
            var match = routes.Match(request.Method, path, out route, out var matchedTemplate, out var allow);
            // Step 2: firewall rules, the gateway's and the matched route's (test-invoke skips them, as it skips the resource policy).
            var firewall = invocation is not null ? default
                : await (match == RouteMatchKind.Found ? route!.Firewall : snapshot.Firewall).InspectAsync(http, log.SourceIp);
            log.FirewallRule = firewall.Rule;
            if (firewall.Blocked)
            {
                route = match == RouteMatchKind.Found ? route : null;
                (log.RouteKey, log.Stage) = (route?.RouteKey, route?.Stage);
                log.ResponseLength = GatewayResponses.Write(http, Rejection.Forbidden);
            }
            else if (CorsPolicy.IsPreflight(request) && CorsPolicy.PreflightRoute(routes, request, path) is { Cors: { } cors } preflight)
            {
                // Answered from the route the browser asks about, before auth (as API Gateway does).
                route = preflight;
                log.RouteKey = preflight.RouteKey;
                log.Stage = preflight.Stage;
                cors.WritePreflight(http);
            }
            else if (match == RouteMatchKind.Found)
            {
                log.RouteKey = route!.RouteKey;
                log.Stage = route.Stage;
                context = new RequestContext
                {
                    Http = http,
                    Route = route,
                    RequestId = requestId,
                    ClientIp = log.SourceIp,
                    FirewallRule = firewall.Rule,
                    SkipResourcePolicy = invocation is not null,
                    DryRunEvents = invocation?.Events,
                    Trace = invocation is not null ? invocation.Begin(requestId) : executionLog.Begin(route.RouteKey, requestId),
                    MatchedPath = path,
                    MatchedTemplate = matchedTemplate,
                };
                context.Trace?.Started(context);
                (log.ResponseLength, log.Events) = await IngestAsync(context, traceParent, now);
            }
            else
            {
                route = null;
                log.ResponseLength = GatewayResponses.Write(http, NoRoute(snapshot, match, allow, response));
            }
        }
        catch (BadHttpRequestException e)
        {
            // Malformed or truncated request body, Kestrel's own size limit, or a body slower than minRequestBodyDataRate (408).
            log.IntegrationError = e.Message;
            if (!response.HasStarted)
            {
                log.ResponseLength = GatewayResponses.Write(http, e.StatusCode switch
                {
                    413 => Rejection.RequestEntityTooLarge,
                    408 => RequestTimeout,
                    _ => Rejection.BadRequest,
                });
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing was acknowledged.
            log.IntegrationError = "client disconnected";
            response.StatusCode = 499;
        }
        finally
        {
            // Nothing below touches a target: the deployment that replaced this snapshot may drain them now.
            snapshot.Exit();
            if (route?.Idempotency is not null)
            {
                // Remembers a 2xx answer for retries with the same key, then sends it.
                await Ingest.Core.Idempotency.RouteIdempotency.EndAsync(http);
            }
            log.Status = response.StatusCode;
            if (context is not null)
            {
                log.ApiKeyId = context.ApiKeyId;
                log.Principal = context.Principal;
                log.FirewallRule = context.FirewallRule;
                log.IntegrationError ??= context.RejectionReason;
                (log.IntegrationStatus, log.IntegrationLatencyMs) = (context.IntegrationStatus, context.IntegrationLatencyMs);
                invocation?.Integrated(context, log.IntegrationError);
                context.Trace?.Write($"Method completed with status: {log.Status}{(log.IntegrationError is { } error ? $" ({error})" : "")}");
            }
            if (invocation is null)
            {
                Record(ref log, route, started);
            }
        }
    }

    private static Rejection NoRoute(GatewaySnapshot snapshot, RouteMatchKind match, string? allow, HttpResponse response)
    {
        if (snapshot.RestV1)
        {
            return Rejection.MissingAuthenticationToken;
        }
        if (match == RouteMatchKind.MethodNotAllowed)
        {
            response.Headers.Allow = allow;
            return Rejection.MethodNotAllowed;
        }
        return Rejection.NotFound;
    }

    private async ValueTask<(long Length, int Events)> IngestAsync(RequestContext context, string traceParent, DateTimeOffset now)
    {
        var http = context.Http;
        var request = http.Request;
        var route = context.Route;
        route.Cors?.ApplyHeaders(http);

        var trace = context.Trace;
        var rejection = (context.SkipResourcePolicy ? null : Traced(trace, "Resource policy", route.Policy.Check(context)))
            ?? Traced(trace, "Payload headers (size, content type)", Integration.SyncInvoker.WithoutBody(route, request) ? null : route.Payload.CheckHeaders(request));
        if (rejection is null && route.Auth.NeedsBody)
        {
            rejection = await ReadBodyAsync(context);
        }
        rejection ??= TracedAuthentication(context, await route.Auth.AuthenticateAsync(context, http.RequestAborted))
            ?? Traced(trace, "Throttle", await route.Throttle.AcquireAsync(context))
            ?? (route.SyncTarget is null ? Traced(trace, "Buffer capacity", Backpressure(request)) : null);
        if (rejection is null && route.Idempotency is { } idempotency)
        {
            var start = await idempotency.BeginAsync(context);
            if (start.Replayed)
            {
                return (start.ReplayedLength, 0);
            }
            rejection = start.Rejection;
        }
        if (rejection is null && route.SyncTarget is not null)
        {
            // Sync targets: the backend's answer, no channel and no events.
            return (await sync.InvokeAsync(context, traceParent, now, runtime.Current.RestV1), 0);
        }
        if (rejection is null && context.Body is null)
        {
            rejection = await ReadBodyAsync(context);
        }
        if (rejection is not null)
        {
            return (Reject(context, rejection), 0);
        }

        var payload = route.Payload.Decode(context);
        if (trace is not null)
        {
            trace.Write($"Method request body before transformations: {context.Body?.Length ?? 0} bytes, {payload.Count} event(s)");
            Traced(trace, "Payload", payload.Rejection);
        }
        if (payload.Rejection is { } invalid)
        {
            return (Reject(context, invalid), 0);
        }
        // ack: durable / delivered: the answer waits for the write-ahead log or the backend (null for memory).
        var ack = RequestAck.For(route.Ack, route.Target, runtime.Wal);
        if (payload.Items is null)
        {
            var result = await EnqueueAsync(context, payload.Single, context.RequestId, traceParent, now, ack);
            if (result != EnqueueResult.Accepted)
            {
                return (Reject(context, Refused(result)), 0);
            }
            if (ack is not null && (await ack.WaitAsync(route.Timeout, _time, http.RequestAborted)).Failure is { } failure)
            {
                return (Reject(context, RequestAck.RejectionFor(failure, runtime.Current.RestV1)), 0);
            }
            return (GatewayResponses.WriteAccepted(http, context.RequestId, 1), 1);
        }
        return await EnqueueSplitAsync(context, payload, traceParent, now, ack);
    }

    private async ValueTask<(long Length, int Events)> EnqueueSplitAsync(RequestContext context, DecodedPayload payload, string traceParent, DateTimeOffset now, RequestAck? ack)
    {
        var accepted = 0;
        var rejected = payload.Rejected ?? [];
        for (var i = 0; i < payload.Items!.Count; i++)
        {
            // The first event takes the request id; the others get ids of their own.
            var id = accepted == 0 ? context.RequestId : Guid.CreateVersion7(now);
            ack?.Item = i;
            var result = await EnqueueAsync(context, payload.Items[i], id, traceParent, now, ack);
            if (result == EnqueueResult.Accepted)
            {
                accepted++;
            }
            else if (accepted == 0 && result != EnqueueResult.TooLarge)
            {
                // Nothing taken yet and no room: the client should retry the whole request.
                return (Reject(context, Refused(result)), 0);
            }
            else
            {
                rejected.Add(new ItemRejection(i, Refused(result).Message));
            }
        }
        if (accepted == 0)
        {
            return (Reject(context, PayloadPolicy.AllItemsRefused(rejected)), 0);
        }
        if (ack is not null)
        {
            // All items of the request are awaited together.
            var (failure, notDelivered) = await ack.WaitAsync(context.Route.Timeout, _time, context.Http.RequestAborted);
            if (failure is not null)
            {
                return (Reject(context, RequestAck.RejectionFor(failure.Value, runtime.Current.RestV1)), 0);
            }
            foreach (var item in notDelivered ?? [])
            {
                rejected.Add(new ItemRejection(item, RequestAck.NotDeliveredMessage(runtime.Current.RestV1)));
                accepted--;
            }
        }
        var response = context.Http.Response;
        response.StatusCode = StatusCodes.Status202Accepted;
        response.ContentType = "application/json";
        response.Headers.XContentTypeOptions = GatewayResponses.NoSniff;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("requestId", context.RequestId);
            json.WriteNumber("accepted", accepted);
            json.WriteStartArray("rejected");
            foreach (var item in rejected.OrderBy(r => r.Index))
            {
                json.WriteStartObject();
                json.WriteNumber("index", item.Index);
                json.WriteString("message", item.Message);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        return (buffer.Length, accepted);
    }

    private async ValueTask<EnqueueResult> EnqueueAsync(RequestContext context, ReadOnlyMemory<byte> body, Guid eventId, string traceParent, DateTimeOffset now, RequestAck? ack)
    {
        var request = context.Http.Request;
        var route = context.Route;
        var e = new IngestEvent
        {
            Id = eventId,
            ReceivedAtMs = now.ToUnixTimeMilliseconds(),
            RouteKey = route.RouteKey,
            SourceIp = context.ClientIp?.ToString(),
            ContentType = request.ContentType,
            TraceParent = traceParent,
            Headers = CaptureHeaders(request.Headers, route.CapturedHeaders),
            Body = body,
            Delivered = ack?.NewDelivered(),
        };
        context.Trace?.Transformed(e);
        if (context.DryRunEvents is { } dryRun)
        {
            // Test-invoke: show what would be sent, send nothing.
            dryRun.Add(e);
            context.Trace?.Write($"Dry run: not sent to target {route.Target.Name}");
            return EnqueueResult.Accepted;
        }
        var target = (IEventTarget?)ack ?? route.Target;
        // Claim check: events too big for the target go to S3 and a pointer is queued instead.
        var result = route.ClaimCheck is { } claims ? await claims.EnqueueAsync(target, e, context) : target.TryEnqueue(e);
        context.Trace?.Write($"Enqueue to target {route.Target.Name}: {result}");
        if (result == EnqueueResult.Accepted)
        {
            metrics.EventsAccepted.Add(1);
        }
        else if (result is not (EnqueueResult.TooLarge or EnqueueResult.Failed))
        {
            metrics.EventsDropped.Add(1, BufferFullReason);
        }
        return result;
    }

    private static Rejection? TracedAuthentication(RequestContext context, Rejection? rejection) =>
        context.Trace is null ? rejection : context.Trace.Authenticated(context, rejection);

    private static Rejection? Traced(ExecutionTrace? trace, string step, Rejection? rejection) =>
        trace is null ? rejection : trace.Decision(step, rejection);

    private static Rejection Refused(EnqueueResult result) => result switch
    {
        EnqueueResult.TooLarge => Rejection.RequestEntityTooLarge,
        EnqueueResult.Failed => Ingest.Core.Pipeline.ClaimCheck.ClaimCheckPolicy.StoreRefused,
        _ => Rejection.ServiceUnavailable,
    };

    /// <summary>503 before reading a body that cannot fit in the buffer budget.</summary>
    private Rejection? Backpressure(HttpRequest request)
    {
        if (runtime.Draining)
        {
            return Rejection.ServiceUnavailable;
        }
        if (request.ContentLength is { } expected && !runtime.Budget.HasRoomFor(expected))
        {
            metrics.EventsDropped.Add(1, BufferFullReason);
            return Rejection.ServiceUnavailable;
        }
        return null;
    }

    private static async ValueTask<Rejection?> ReadBodyAsync(RequestContext context)
    {
        var http = context.Http;
        context.Body = await PayloadPolicy.ReadBodyAsync(http.Request, context.Route.Payload.MaxBodyBytes, http.RequestAborted);
        return context.Body is null ? Rejection.RequestEntityTooLarge : null;
    }

    private static int Reject(RequestContext context, Rejection rejection)
    {
        var http = context.Http;
        // A step may have recorded the reason already (claim check store failures).
        context.RejectionReason = rejection.LogReason ?? context.RejectionReason;
        if (rejection.Status == StatusCodes.Status413PayloadTooLarge)
        {
            // The rest of an oversized body is not worth reading: close instead.
            http.Response.Headers.Connection = "close";
        }
        return GatewayResponses.Write(http, rejection);
    }

    /// <summary>The values of the route's captured headers that the request carries (also measured by the benchmarks).</summary>
    internal static KeyValuePair<string, string>[] CaptureHeaders(IHeaderDictionary headers, string[] names)
    {
        if (names.Length == 0)
        {
            return [];
        }
        var captured = new KeyValuePair<string, string>[names.Length];
        var count = 0;
        foreach (var name in names)
        {
            if (headers.TryGetValue(name, out var value))
            {
                captured[count++] = new(name, value.ToString());
            }
        }
        return count == captured.Length ? captured : captured[..count];
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
        usage.Record(log.ApiKeyId, log.Events);
        status.Record(log.RouteKey, log.Status, elapsed);
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
