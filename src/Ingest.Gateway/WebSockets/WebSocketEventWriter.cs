using System.Diagnostics;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Acknowledgement;
using Ingest.Core.Pipeline.ClaimCheck;
using Ingest.Core.Requests;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Admin;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Requests;
using Ingest.Gateway.Status;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// What connects, messages and disconnects have in common: the event (envelope as the HTTP path
/// builds it, plus the connection id and event type as headers) queued to the route's target with
/// its claim check and ack level, and the access-log line, metrics, usage and status-page record.
/// </summary>
internal sealed class WebSocketEventWriter(
    GatewayRuntime runtime,
    IngestMetrics metrics,
    AccessLogWriter accessLog,
    UsageCounters usage,
    StatusBoard status,
    GatewayOptions options)
{
    /// <summary>Envelope header carrying the connection id (SQS attribute <c>ingest-h-connection-id</c>; Kinesis partition key <c>header:connection-id</c>).</summary>
    public const string ConnectionIdHeader = "connection-id";

    /// <summary>Envelope header carrying CONNECT, MESSAGE or DISCONNECT.</summary>
    public const string EventTypeHeader = "event-type";

    public const string Connect = "CONNECT";
    public const string Message = "MESSAGE";
    public const string Disconnect = "DISCONNECT";

    private static readonly KeyValuePair<string, object?> BufferFullReason = new("reason", "buffer_full");

    public TimeProvider Time { get; } = options.TimeProvider;

    /// <summary>
    /// Queues one event for <paramref name="context"/>'s route. Null when it was taken (and, when
    /// <paramref name="waitForAck"/>, acknowledged at the route's ack level); else the answer.
    /// </summary>
    public async ValueTask<Rejection?> EnqueueAsync(
        RequestContext context,
        WebSocketConnection connection,
        string eventType,
        ReadOnlyMemory<byte> body,
        string contentType,
        string traceParent,
        DateTimeOffset now,
        bool waitForAck)
    {
        var route = context.Route;
        // durable: the event is in the write-ahead log before it is queued, awaited or not.
        var ack = RequestAck.For(route.Ack, route.Target, runtime.Wal);
        var e = new IngestEvent
        {
            Id = context.RequestId,
            ReceivedAtMs = now.ToUnixTimeMilliseconds(),
            RouteKey = route.RouteKey,
            SourceIp = connection.SourceIpText,
            ContentType = contentType,
            TraceParent = traceParent,
            Headers = Headers(connection, eventType, route.CapturedHeaders),
            Body = body,
            Delivered = ack?.NewDelivered(),
        };
        var target = (IEventTarget?)ack ?? route.Target;
        // Claim check: events too big for the target go to S3 and a pointer is queued instead.
        var result = route.ClaimCheck is { } claims ? await claims.EnqueueAsync(target, e, context) : target.TryEnqueue(e);
        if (result != EnqueueResult.Accepted)
        {
            if (result is not (EnqueueResult.TooLarge or EnqueueResult.Failed))
            {
                metrics.EventsDropped.Add(1, BufferFullReason);
            }
            return Refused(result);
        }
        metrics.EventsAccepted.Add(1);
        if (waitForAck && ack is not null && (await ack.WaitAsync(route.Timeout, Time, connection.Aborted)).Failure is { } failure)
        {
            return RequestAck.RejectionFor(failure, runtime.Current.RestV1);
        }
        return null;
    }

    /// <summary>Access log, <c>ingest_requests_total</c> and latency, usage per API key, status page.</summary>
    public void Record(ref AccessLogEntry log, long started)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        log.LatencyMs = elapsed.TotalMilliseconds;
        var routeTag = new KeyValuePair<string, object?>("route", log.RouteKey ?? "");
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

    /// <summary>A new access-log line for something that happened on <paramref name="connection"/>.</summary>
    public static AccessLogEntry Entry(WebSocketConnection connection, Guid requestId, DateTimeOffset now, string eventType) => new()
    {
        RequestId = requestId,
        RequestTimeMs = now.ToUnixTimeMilliseconds(),
        HttpMethod = Core.WebSockets.WebSocketRouteKey.Method,
        Path = connection.Path,
        Stage = connection.Stage,
        SourceIp = connection.SourceIp,
        UserAgent = connection.UserAgent,
        ApiKeyId = connection.ApiKeyId,
        Principal = connection.Principal,
        ConnectionId = connection.Id,
        EventType = eventType,
    };

    /// <summary>The answer for an event the target did not take (as the HTTP path answers).</summary>
    public static Rejection Refused(EnqueueResult result) => result switch
    {
        EnqueueResult.TooLarge => Rejection.RequestEntityTooLarge,
        EnqueueResult.Failed => ClaimCheckPolicy.StoreRefused,
        _ => Rejection.ServiceUnavailable,
    };

    private static KeyValuePair<string, string>[] Headers(WebSocketConnection connection, string eventType, string[] captured)
    {
        var fromUpgrade = captured.Length == 0 ? [] : IngestRequestHandler.CaptureHeaders(connection.Http.Request.Headers, captured);
        var headers = new KeyValuePair<string, string>[fromUpgrade.Length + 2];
        // First, so they are kept where a target limits the number of attributes (SQS: 10).
        headers[0] = new(ConnectionIdHeader, connection.Id);
        headers[1] = new(EventTypeHeader, eventType);
        fromUpgrade.CopyTo(headers, 2);
        return headers;
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
