using System.Text;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Core.WebSockets;

namespace Ingest.Gateway.Tests.WebSockets;

/// <summary>webSocket: and WEBSOCKET routes are checked at load, every problem at once, each naming the fix.</summary>
public class WebSocketValidationTests
{
    private static List<string> Validate(string yaml) =>
        ConfigValidator.Validate(ConfigLoader.Load(yaml), new Dictionary<string, ITargetKind>());

    [Fact]
    public void A_valid_websocket_api_has_no_errors()
    {
        var errors = Validate("""
            apiKeys: [{ id: a, sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b }]
            webSocket: { path: /socket, routeSelection: "$request.body.action", idleTimeout: 5m, maxConnectionDuration: 1h, maxMessageBytes: 65536 }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: "WEBSOCKET $connect", target: sink, auth: [apiKey], throttle: { rate: 10, burst: 10 } }
              - { route: "WEBSOCKET $default", target: sink, validate: json }
              - { route: "WEBSOCKET sendTelemetry", target: sink, throttle: { rate: 100, burst: 50 } }
              - { route: "WEBSOCKET $disconnect", target: sink }
            """);

        Assert.Empty(errors);
    }

    [Fact]
    public void Every_mistake_is_reported_at_once_with_its_fix()
    {
        var errors = Validate("""
            webSocket: { path: "ws", routeSelection: "body.action", idleTimeout: 0s, maxMessageBytes: 0, maxConnections: 0, queryToken: "a b" }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: "WEBSOCKET $default", target: sink, auth: [apiKey], split: ndjson, cors: { origins: ["*"] } }
              - { route: "WEBSOCKET $default", target: sink }
              - { route: "WEBSOCKET $other", target: sink }
              - { route: "WEBSOCKET $disconnect", target: sink, throttle: { rate: 1, burst: 1 } }
            """);
        var text = string.Join("\n", errors);

        Assert.Contains("webSocket.path: 'ws' must be a literal path", text, StringComparison.Ordinal);
        Assert.Contains("webSocket.routeSelection: 'body.action' is not a route selection expression", text, StringComparison.Ordinal);
        Assert.Contains("webSocket.idleTimeout: must be above zero", text, StringComparison.Ordinal);
        Assert.Contains("webSocket.maxMessageBytes: 0 is outside", text, StringComparison.Ordinal);
        Assert.Contains("webSocket.maxConnections: must be at least 1", text, StringComparison.Ordinal);
        Assert.Contains("webSocket.queryToken: 'a b'", text, StringComparison.Ordinal);
        Assert.Contains("routes[0] (WEBSOCKET $default).auth: does not apply to this WebSocket route", text, StringComparison.Ordinal);
        Assert.Contains("routes[0] (WEBSOCKET $default).split", text, StringComparison.Ordinal);
        Assert.Contains("routes[0] (WEBSOCKET $default).cors", text, StringComparison.Ordinal);
        Assert.Contains("routes[1] (WEBSOCKET $default).route: defined twice", text, StringComparison.Ordinal);
        Assert.Contains("routes[2] (WEBSOCKET $other).route: '$other' is not a key", text, StringComparison.Ordinal);
        Assert.Contains("routes[3] (WEBSOCKET $disconnect).throttle", text, StringComparison.Ordinal);
        Assert.Contains("need a 'WEBSOCKET $connect' route", text, StringComparison.Ordinal);
        // Message routes have no auth of their own: no "auth: missing" for them.
        Assert.DoesNotContain("routes[1] (WEBSOCKET $default).auth", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Connect_needs_auth_like_any_route_and_custom_keys_need_a_selection_expression()
    {
        var errors = Validate("""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: "WEBSOCKET $connect", target: sink }
              - { route: "WEBSOCKET sendTelemetry", target: sink }
            """);
        var text = string.Join("\n", errors);

        Assert.Contains("routes[0] (WEBSOCKET $connect).auth: missing", text, StringComparison.Ordinal);
        Assert.Contains("routes[1] (WEBSOCKET sendTelemetry).route: a message reaches 'sendTelemetry' only through webSocket.routeSelection", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_response_target_is_refused_for_websocket_routes()
    {
        var errors = Validate("""
            targets: { sink: { type: blackhole }, api: { type: http, url: "http://127.0.0.1:5000" } }
            routes:
              - { route: "WEBSOCKET $connect", target: sink, auth: none, public: true }
              - { route: "WEBSOCKET $default", target: api }
            """);

        Assert.Contains(errors, e => e.StartsWith("routes[1] (WEBSOCKET $default).target: 'api' (http) is not a queue or stream target", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("json:action", """{"action":"b"}""", "b")]
    [InlineData("$request.body.action", """{"x":[1,{"action":"a"}],"action":"b"}""", "b")]
    [InlineData("json:meta.kind", """{"meta":{"other":{"kind":"a"},"kind":"b"}}""", "b")]
    [InlineData("json:action", """{"action":"c"}""", null)]
    [InlineData("json:action", """{"action":1}""", null)]
    [InlineData("json:action", """["action","a"]""", null)]
    [InlineData("json:action", """{"action":"a","cut":""", "a")]
    [InlineData("json:action", """{"action":"a""", null)]
    [InlineData("json:action", "not json", null)]
    [InlineData("json:meta.kind", """{"meta":"a"}""", null)]
    public void Route_selection_reads_the_named_string_field(string expression, string message, string? expected)
    {
        Assert.True(RouteSelection.TryParse(expression, out var selection, out _));
        KeyValuePair<byte[], string>[] routes = [new("a"u8.ToArray(), "a"), new("b"u8.ToArray(), "b")];

        var found = selection!.TrySelect(Encoding.UTF8.GetBytes(message), routes, out var route);

        Assert.Equal(expected is not null, found);
        Assert.Equal(expected, route);
    }
}
