using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Requests;
using Ingest.Core.WebSockets;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// The WebSocket API. An upgrade on the WebSocket path is <c>$connect</c>: firewall, resource
/// policy, authentication and throttle of the <c>WEBSOCKET $connect</c> route, then the connect
/// event to its target; refusals are ordinary HTTP answers (401, 403, 429, 503). Once open, each
/// message goes through <see cref="WebSocketMessageHandler"/>; when the connection ends, for
/// whatever reason, the <c>$disconnect</c> event is sent.
/// </summary>
internal sealed partial class WebSocketEndpoint(
    GatewayRuntime runtime,
    WebSocketConnections connections,
    WebSocketMessageHandler messages,
    WebSocketEventWriter events,
    ILogger<WebSocketEndpoint> logger)
{
    private const int InitialReceiveBytes = 4096;

    /// <summary>Middleware: serves WebSocket upgrades on the WebSocket path, passes everything else on.</summary>
    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            await next(http);
            return;
        }
        var snapshot = runtime.Enter();
        WebSocketRouteIndex.StageRoutes? routes;
        Opened? opened = null;
        try
        {
            routes = WebSocketRouteIndex.For(snapshot).ForUpgrade(snapshot, http.Request);
            if (routes is not null)
            {
                opened = await ConnectAsync(http, snapshot, routes);
            }
        }
        finally
        {
            // A connection lives for hours: it must not hold its deployment; each message enters the current one.
            snapshot.Exit();
        }
        if (routes is null)
        {
            // Not the WebSocket path: the HTTP lifecycle answers (route, 404, ...).
            await next(http);
        }
        else if (opened is { } open)
        {
            await ServeAsync(open.Connection, open.Socket, open.MaxMessageBytes);
        }
    }

    private readonly record struct Opened(WebSocketConnection Connection, WebSocket? Socket, int MaxMessageBytes);

    private async Task<Opened?> ConnectAsync(HttpContext http, GatewaySnapshot snapshot, WebSocketRouteIndex.StageRoutes routes)
    {
        var started = Stopwatch.GetTimestamp();
        var request = http.Request;
        var response = http.Response;
        var now = events.Time.GetUtcNow();
        var requestId = Guid.CreateVersion7(now);
        var traceParent = TraceContext.Next(request.Headers.TryGetValue("traceparent", out var incoming) ? incoming.ToString() : null);
        response.Headers["x-request-id"] = requestId.ToString();
        response.Headers["traceparent"] = traceParent;
        var options = snapshot.Config.WebSocket;
        var log = new AccessLogEntry
        {
            RequestId = requestId,
            ClientRequestId = request.Headers.TryGetValue("x-request-id", out var clientId) ? clientId.ToString() : null,
            RequestTimeMs = now.ToUnixTimeMilliseconds(),
            HttpMethod = request.Method,
            Path = request.Path.Value ?? "/",
            Stage = routes.Name,
            UserAgent = request.Headers.UserAgent.Count > 0 ? request.Headers.UserAgent.ToString() : null,
            SourceIp = snapshot.ClientAddress.Resolve(http),
            EventType = WebSocketEventWriter.Connect,
        };
        var route = routes.Connect!;
        log.RouteKey = route.RouteKey;
        var firewall = await route.Firewall.InspectAsync(http, log.SourceIp);
        log.FirewallRule = firewall.Rule;
        var context = new RequestContext { Http = http, Route = route, RequestId = requestId, ClientIp = log.SourceIp, FirewallRule = firewall.Rule };
        var rejection = firewall.Blocked ? Rejection.Forbidden : route.Policy.Check(context);
        var reserved = false;
        WebSocketConnection? connection = null;
        try
        {
            if (rejection is null)
            {
                UseQueryToken(request, options.QueryToken);
                if (route.Auth.NeedsBody)
                {
                    // iam and hmac sign the body: an upgrade request has none.
                    context.Body = [];
                }
                rejection = await route.Auth.AuthenticateAsync(context, http.RequestAborted)
                    ?? await route.Throttle.AcquireAsync(context)
                    ?? (runtime.Draining ? Rejection.ServiceUnavailable : null);
            }
            if (rejection is null && !(reserved = connections.TryReserve(options.MaxConnections)))
            {
                rejection = Rejection.ServiceUnavailable.WithReason($"webSocket.maxConnections ({options.MaxConnections}) open");
            }
            if (rejection is null)
            {
                connection = new WebSocketConnection(http, routes.Name, events.Time, options.IdleTimeout, options.MaxConnectionDuration)
                {
                    SourceIp = log.SourceIp,
                    SourceIpText = log.SourceIp?.ToString(),
                    UserAgent = log.UserAgent,
                    ApiKeyId = context.ApiKeyId,
                    Principal = context.Principal,
                    AuthorizerContext = context.AuthorizerContext,
                    TraceParent = traceParent,
                    Path = log.Path,
                };
                log.ConnectionId = connection.Id;
                // As API Gateway's $connect integration: the connection opens only once its target took the event.
                rejection = await events.EnqueueAsync(context, connection, WebSocketEventWriter.Connect, ConnectEvent(connection),
                    "application/json", traceParent, now, waitForAck: true);
            }
            if (rejection is not null)
            {
                connection?.End();
                log.ResponseLength = GatewayResponses.Write(http, rejection);
                log.IntegrationError = rejection.LogReason ?? context.RejectionReason;
                return null;
            }
            log.Events = 1;
            WebSocket? socket = null;
            try
            {
                socket = await http.WebSockets.AcceptWebSocketAsync();
                connection!.Start(socket);
            }
            catch (Exception e) when (WebSocketConnection.IsConnectionGone(e))
            {
                // The client left during the handshake; its connect event is out, so its disconnect follows.
                log.IntegrationError = "client disconnected";
                response.StatusCode = 499;
            }
            connections.Add(connection!);
            reserved = false;
            return new Opened(connection!, socket, options.MaxMessageBytes);
        }
        finally
        {
            if (reserved)
            {
                connections.Release();
            }
            log.Status = response.StatusCode;
            log.ApiKeyId = context.ApiKeyId;
            log.Principal = context.Principal;
            events.Record(ref log, started);
        }
    }

    /// <summary>Serves an open connection until it ends, then sends its disconnect event.</summary>
    private async Task ServeAsync(WebSocketConnection connection, WebSocket? socket, int maxMessageBytes)
    {
        WebSocketCloseStatus? clientClose = null;
        try
        {
            if (socket is not null)
            {
                clientClose = await ReceiveAsync(connection, socket, maxMessageBytes);
            }
        }
        catch (Exception e) when (WebSocketConnection.IsConnectionGone(e))
        {
            // Cut off: the client vanished, or did not answer our close in time.
        }
        catch (Exception e)
        {
            LogConnectionFailed(logger, connection.Id, e);
            await connection.CloseAsync(WebSocketCloseStatus.InternalServerError, "Internal Server Error");
        }
        finally
        {
            connections.Remove(connection);
            connections.Release();
            connection.End();
            socket?.Dispose();
        }
        // 1006: the connection ended without a close handshake.
        var code = (int?)connection.ServerCloseStatus ?? (int?)clientClose ?? 1006;
        await DisconnectAsync(connection, code, connection.ServerCloseReason ?? (clientClose is null ? "connection lost" : "closed by the client"));
    }

    /// <summary>Reads messages one at a time until the close handshake; returns the client's close code.</summary>
    private async Task<WebSocketCloseStatus?> ReceiveAsync(WebSocketConnection connection, WebSocket socket, int maxMessageBytes)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBytes, maxMessageBytes + 1));
        var count = 0;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    // Grows to at most one byte over the limit: enough to tell the message is too big.
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxMessageBytes + 1));
                    buffer.AsSpan(0, count).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var result = await socket.ReceiveAsync(buffer.AsMemory(count), connection.Aborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (connection.ServerCloseStatus is null)
                    {
                        await connection.AnswerCloseAsync(socket.CloseStatus);
                    }
                    return socket.CloseStatus;
                }
                if (connection.IsClosing)
                {
                    // We sent our close: what still arrives is not taken (it could not be acked).
                    count = 0;
                    continue;
                }
                count += result.Count;
                if (count > maxMessageBytes)
                {
                    count = 0;
                    await messages.RefuseTooLargeAsync(connection, maxMessageBytes);
                    continue;
                }
                if (result.EndOfMessage)
                {
                    var message = buffer.AsSpan(0, count).ToArray();
                    count = 0;
                    await messages.HandleAsync(connection, message, result.MessageType == WebSocketMessageType.Text);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task DisconnectAsync(WebSocketConnection connection, int code, string reason)
    {
        var started = Stopwatch.GetTimestamp();
        var now = events.Time.GetUtcNow();
        var requestId = Guid.CreateVersion7(now);
        var log = WebSocketEventWriter.Entry(connection, requestId, now, WebSocketEventWriter.Disconnect);
        log.DisconnectStatusCode = code;
        log.RouteKey = WebSocketRouteKey.Of(WebSocketRouteKey.Disconnect);
        log.Status = StatusCodes.Status200OK;
        var snapshot = runtime.Enter();
        try
        {
            if (WebSocketRouteIndex.For(snapshot).ForStage(connection.Stage)?.Disconnect is { } route)
            {
                var context = new RequestContext
                {
                    Http = connection.Http,
                    Route = route,
                    RequestId = requestId,
                    ClientIp = connection.SourceIp,
                    ApiKeyId = connection.ApiKeyId,
                    Principal = connection.Principal,
                };
                // Not throttled and not refused while draining: the targets still take events until they drain.
                var rejection = await events.EnqueueAsync(context, connection, WebSocketEventWriter.Disconnect,
                    DisconnectEvent(connection, code, reason), "application/json", TraceContext.Next(connection.TraceParent), now, waitForAck: false);
                if (rejection is not null)
                {
                    log.Status = rejection.Status;
                    log.IntegrationError = rejection.LogReason ?? context.RejectionReason ?? rejection.Message;
                    LogDisconnectRefused(logger, connection.Id, rejection.Status);
                }
                else
                {
                    log.Events = 1;
                }
            }
        }
        finally
        {
            snapshot.Exit();
        }
        events.Record(ref log, started);
    }

    /// <summary>Browsers cannot set headers on a WebSocket: a token in the query stands in for <c>Authorization: Bearer</c>.</summary>
    private static void UseQueryToken(HttpRequest request, string? name)
    {
        if (name is not null && request.Headers.Authorization.Count == 0
            && request.Query.TryGetValue(name, out var token) && token.Count == 1 && !string.IsNullOrEmpty(token[0]))
        {
            request.Headers.Authorization = "Bearer " + token[0];
        }
    }

    private static byte[] ConnectEvent(WebSocketConnection connection) => EventBody(connection, WebSocketEventWriter.Connect, json =>
    {
        WriteOptional(json, "apiKeyId", connection.ApiKeyId);
        WriteOptional(json, "principal", connection.Principal);
        WriteOptional(json, "userAgent", connection.UserAgent);
    });

    private static byte[] DisconnectEvent(WebSocketConnection connection, int code, string reason) => EventBody(connection, WebSocketEventWriter.Disconnect, json =>
    {
        json.WriteNumber("disconnectStatusCode", code);
        json.WriteString("disconnectReason", reason);
    });

    /// <summary><c>{"connectionId","eventType","connectedAt","stage","sourceIp",...}</c>: what API Gateway puts in requestContext.</summary>
    private static byte[] EventBody(WebSocketConnection connection, string eventType, Action<Utf8JsonWriter> more)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("connectionId", connection.Id);
            json.WriteString("eventType", eventType);
            json.WriteNumber("connectedAt", connection.ConnectedAt.ToUnixTimeMilliseconds());
            WriteOptional(json, "stage", connection.Stage);
            WriteOptional(json, "sourceIp", connection.SourceIpText);
            more(json);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WebSocket connection {ConnectionId} failed; closing it with 1011")]
    private static partial void LogConnectionFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disconnect event of WebSocket connection {ConnectionId} refused by its target ({Status})")]
    private static partial void LogDisconnectRefused(ILogger logger, string connectionId, int status);
}
