namespace Ingest.Core.WebSockets;

/// <summary>
/// Route keys of the WebSocket API: <c>WEBSOCKET $connect</c>, <c>WEBSOCKET $disconnect</c>,
/// <c>WEBSOCKET $default</c> and <c>WEBSOCKET KEY</c> for keys chosen by the route selection expression.
/// They are not HTTP routes: the route table never sees them.
/// </summary>
public static class WebSocketRouteKey
{
    /// <summary>The method part of a WebSocket route key.</summary>
    public const string Method = "WEBSOCKET";

    public const string Connect = "$connect";
    public const string Disconnect = "$disconnect";
    public const string Default = "$default";

    /// <summary>Longest custom key (API Gateway's limit).</summary>
    public const int MaxKeyLength = 128;

    private const string Prefix = Method + " ";

    /// <summary>True for <c>WEBSOCKET ...</c> route keys.</summary>
    public static bool IsWebSocket(string routeKey) => routeKey.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>True for WebSocket routes that receive messages (all but <c>$connect</c>, which authenticates the upgrade).</summary>
    public static bool IsMessageRoute(string routeKey) => IsWebSocket(routeKey) && Key(routeKey) != Connect;

    /// <summary>The key after <c>WEBSOCKET </c>, e.g. <c>$default</c> or <c>sendTelemetry</c>.</summary>
    public static string Key(string routeKey) => routeKey[Prefix.Length..];

    /// <summary>The full route key of <paramref name="key"/>.</summary>
    public static string Of(string key) => Prefix + key;
}
