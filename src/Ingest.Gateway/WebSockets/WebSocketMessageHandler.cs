using System.Diagnostics;
using System.Net.WebSockets;
using Ingest.Core.Deployment;
using Ingest.Core.Requests;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// One message of a connection, the HTTP lifecycle's steps in the same order: route (selection
/// expression, else <c>$default</c>), size, throttle (per message), buffer room, payload checks,
/// envelope and enqueue at the route's ack level; then the ack or error frame, the access-log line
/// and the metrics. Runs on the deployment current when the message arrives.
/// </summary>
internal sealed class WebSocketMessageHandler(GatewayRuntime runtime, WebSocketEventWriter events)
{
    private const string TextContentType = "application/json";
    private const string BinaryContentType = "application/octet-stream";

    // API Gateway answers a message no route takes with Forbidden.
    private static readonly Rejection NoRoute = Rejection.Forbidden.WithReason("no route for the message's route key and no WEBSOCKET $default");

    /// <summary>Handles one complete message; returns once its frame is sent (or the connection is gone).</summary>
    public async Task HandleAsync(WebSocketConnection connection, byte[] message, bool text)
    {
        var started = Stopwatch.GetTimestamp();
        var now = events.Time.GetUtcNow();
        connection.Touch(now);
        var requestId = Guid.CreateVersion7(now);
        var log = WebSocketEventWriter.Entry(connection, requestId, now, WebSocketEventWriter.Message);
        Rejection? rejection;
        RequestContext? context = null;
        var snapshot = runtime.Enter();
        try
        {
            var routes = WebSocketRouteIndex.For(snapshot);
            var route = routes.ForStage(connection.Stage)?.Select(text ? routes.Selection : null, message);
            if (route is null)
            {
                rejection = NoRoute;
            }
            else
            {
                log.RouteKey = route.RouteKey;
                context = new RequestContext
                {
                    Http = connection.Http,
                    Route = route,
                    RequestId = requestId,
                    ClientIp = connection.SourceIp,
                    ApiKeyId = connection.ApiKeyId,
                    Principal = connection.Principal,
                    AuthorizerContext = connection.AuthorizerContext,
                    Body = message,
                };
                rejection = await TakeAsync(context, connection, route, message, text, now);
                log.Events = rejection is null ? 1 : 0;
            }
        }
        finally
        {
            snapshot.Exit();
        }

        var frame = rejection is null
            ? WebSocketFrames.WriteAck(connection, requestId, requestId)
            : WebSocketFrames.WriteError(connection, rejection, requestId);
        await connection.SendAsync(frame, WebSocketMessageType.Text, connection.Aborted);
        log.Status = rejection?.Status ?? StatusCodes.Status202Accepted;
        log.ResponseLength = frame.Length;
        log.IntegrationError = rejection?.LogReason ?? context?.RejectionReason;
        events.Record(ref log, started);
    }

    /// <summary>
    /// A message above <c>webSocket.maxMessageBytes</c>: error frame 413, then close 1009 Message Too
    /// Big (as API Gateway); the rest of it is never buffered.
    /// </summary>
    public async Task RefuseTooLargeAsync(WebSocketConnection connection, int maxMessageBytes)
    {
        var started = Stopwatch.GetTimestamp();
        var now = events.Time.GetUtcNow();
        connection.Touch(now);
        var requestId = Guid.CreateVersion7(now);
        var log = WebSocketEventWriter.Entry(connection, requestId, now, WebSocketEventWriter.Message);
        var rejection = Rejection.RequestEntityTooLarge.WithReason($"message above webSocket.maxMessageBytes ({maxMessageBytes})");
        var frame = WebSocketFrames.WriteError(connection, rejection, requestId);
        await connection.SendAsync(frame, WebSocketMessageType.Text, connection.Aborted);
        await connection.CloseAsync(WebSocketCloseStatus.MessageTooBig, "Message Too Big");
        log.Status = rejection.Status;
        log.ResponseLength = frame.Length;
        log.IntegrationError = rejection.LogReason;
        events.Record(ref log, started);
    }

    private async ValueTask<Rejection?> TakeAsync(RequestContext context, WebSocketConnection connection, CompiledRoute route, byte[] message, bool text, DateTimeOffset now)
    {
        if (message.Length > route.Payload.MaxBodyBytes)
        {
            return Rejection.RequestEntityTooLarge.WithReason($"message of {message.Length} bytes is above the route's maxBodyBytes ({route.Payload.MaxBodyBytes})");
        }
        var rejection = await route.Throttle.AcquireAsync(context) ?? Backpressure(message.Length);
        if (rejection is not null)
        {
            return rejection;
        }
        var payload = route.Payload.Decode(message, StringValues.Empty);
        if (payload.Rejection is { } invalid)
        {
            return invalid;
        }
        return await events.EnqueueAsync(
            context, connection, WebSocketEventWriter.Message, payload.Single, text ? TextContentType : BinaryContentType,
            TraceContext.Next(connection.TraceParent), now, waitForAck: true);
    }

    /// <summary>503 while draining or when the message cannot fit in the buffer budget.</summary>
    private Rejection? Backpressure(int length)
    {
        if (runtime.Draining)
        {
            return Rejection.ServiceUnavailable;
        }
        return runtime.Budget.HasRoomFor(length) ? null : Rejection.ServiceUnavailable;
    }
}
