using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Core.Routing;

namespace Ingest.Core.WebSockets;

/// <summary>Checks <c>webSocket:</c> and the <c>WEBSOCKET</c> routes; every problem names the route and the fix.</summary>
public static class WebSocketValidation
{
    /// <summary>Largest <c>webSocket.maxMessageBytes</c>: 10 MiB.</summary>
    public const int MaxMessageBytesCeiling = 10 * 1024 * 1024;

    public static void Validate(IngestConfig config, IReadOnlyDictionary<string, ITargetKind> kinds, ICollection<string> errors)
    {
        var options = config.WebSocket;
        ValidateOptions(options, errors);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var hasConnect = false;
        var webSocketRoutes = 0;
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            if (!WebSocketRouteKey.IsWebSocket(route.Route))
            {
                continue;
            }
            webSocketRoutes++;
            var where = $"routes[{i}] ({route.Route})";
            var key = WebSocketRouteKey.Key(route.Route);
            hasConnect |= key == WebSocketRouteKey.Connect;
            ValidateKey(where, key, options, errors);
            if (!keys.Add(key))
            {
                errors.Add($"{where}.route: defined twice. Remove one of them.");
            }
            ValidateRoute(where, key, route, errors);
            if (config.Targets.TryGetValue(route.Target, out var target) && target.Type != "blackhole" && !kinds.ContainsKey(target.Type))
            {
                errors.Add($"{where}.target: '{route.Target}' ({target.Type}) is not a queue or stream target; WebSocket messages become events for sqs, kinesis or blackhole targets. Name one of those.");
            }
        }
        if (webSocketRoutes > 0 && !hasConnect)
        {
            errors.Add("routes: WebSocket routes need a 'WEBSOCKET $connect' route, which authenticates the upgrade request (auth: [apiKey], a jwt authorizer, ... or auth: none with public: true).");
        }
    }

    private static void ValidateOptions(WebSocketOptions options, ICollection<string> errors)
    {
        if (!options.Path.StartsWith('/') || options.Path == "/" || RouteTemplate.TryParse(options.Path, out _) is not { IsLiteral: true })
        {
            errors.Add($"webSocket.path: '{options.Path}' must be a literal path below the root, e.g. /ws.");
        }
        if (options.RouteSelection is { } selection && !RouteSelection.TryParse(selection, out _, out var selectionError))
        {
            errors.Add($"webSocket.routeSelection: {selectionError}.");
        }
        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            errors.Add("webSocket.idleTimeout: must be above zero, e.g. 10m.");
        }
        if (options.MaxConnectionDuration <= TimeSpan.Zero)
        {
            errors.Add("webSocket.maxConnectionDuration: must be above zero, e.g. 2h.");
        }
        if (options.MaxMessageBytes < 1 || options.MaxMessageBytes > MaxMessageBytesCeiling)
        {
            errors.Add($"webSocket.maxMessageBytes: {options.MaxMessageBytes} is outside 1..{MaxMessageBytesCeiling}, e.g. 131072.");
        }
        if (options.MaxConnections < 1)
        {
            errors.Add("webSocket.maxConnections: must be at least 1, e.g. 10000.");
        }
        if (options.QueryToken is { } name && (name.Length == 0 || name.Any(c => c <= ' ' || c is '&' or '=' or '#' or '?')))
        {
            errors.Add($"webSocket.queryToken: '{name}' is not a query parameter name, e.g. access_token.");
        }
    }

    private static void ValidateKey(string where, string key, WebSocketOptions options, ICollection<string> errors)
    {
        if (key is WebSocketRouteKey.Connect or WebSocketRouteKey.Disconnect or WebSocketRouteKey.Default)
        {
            return;
        }
        if (key.Length == 0 || key.Length > WebSocketRouteKey.MaxKeyLength || key.Any(char.IsWhiteSpace))
        {
            errors.Add($"{where}.route: the key must be 1..{WebSocketRouteKey.MaxKeyLength} characters without spaces, e.g. 'WEBSOCKET sendTelemetry'.");
        }
        else if (key.StartsWith('$'))
        {
            errors.Add($"{where}.route: '{key}' is not a key: the ones starting with $ are $connect, $disconnect and $default.");
        }
        else if (options.RouteSelection is null)
        {
            errors.Add($"{where}.route: a message reaches '{key}' only through webSocket.routeSelection. Set it, e.g. routeSelection: json:action.");
        }
    }

    private static void ValidateRoute(string where, string key, RouteOptions route, ICollection<string> errors)
    {
        NotHere(where, "cors", route.Cors is not null, "WebSocket routes are not called by browsers' fetch", errors);
        NotHere(where, "split", route.Split != "none", "one message is one event", errors);
        NotHere(where, "idempotency", route.Idempotency is not null, "acks already say what was taken", errors);
        NotHere(where, "cache", route.Cache is not null, "events are not cached", errors);
        NotHere(where, "requestTemplate", route.RequestTemplate is not null, "events keep the message as sent", errors);
        NotHere(where, "responseTemplate", route.ResponseTemplate is not null, "answers are ack and error frames", errors);
        NotHere(where, "contentTypes", route.ContentTypes is not null, "text frames are application/json, binary frames application/octet-stream", errors);
        NotHere(where, "maxInflatedBytes", route.MaxInflatedBytes is not null, "messages are not compressed", errors);
        if (key == WebSocketRouteKey.Connect)
        {
            NotHere(where, "validate", route.Validate != "none", "the upgrade request has no body", errors);
            NotHere(where, "schema", route.Schema is not null, "the upgrade request has no body", errors);
            NotHere(where, "maxBodyBytes", route.MaxBodyBytes is not null, "the upgrade request has no body (webSocket.maxMessageBytes limits messages)", errors);
            return;
        }
        // Authentication, resource policy and firewall apply to the upgrade request, once per connection.
        const string OnConnect = "it applies to the upgrade request: put it on the 'WEBSOCKET $connect' route";
        NotHere(where, "auth", route.Auth.Count > 0, OnConnect, errors);
        NotHere(where, "scopes", route.Scopes is not null, OnConnect, errors);
        NotHere(where, "resourcePolicy", route.ResourcePolicy is not null, OnConnect, errors);
        NotHere(where, "firewall", route.Firewall is not null, OnConnect, errors);
        NotHere(where, "managedRules", route.ManagedRules is not null, OnConnect, errors);
        if (key == WebSocketRouteKey.Disconnect)
        {
            NotHere(where, "throttle", route.Throttle is not null, "disconnect events are never refused", errors);
            NotHere(where, "validate", route.Validate != "none", "the gateway writes the disconnect event", errors);
            NotHere(where, "schema", route.Schema is not null, "the gateway writes the disconnect event", errors);
        }
    }

    private static void NotHere(string where, string key, bool used, string why, ICollection<string> errors)
    {
        if (used)
        {
            errors.Add($"{where}.{key}: does not apply to this WebSocket route ({why}). Remove it.");
        }
    }
}
