using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.WebSockets;

/// <summary>The WebSocket API on a real Kestrel: $connect authentication, events and acks, route selection, @connections.</summary>
public class WebSocketApiTests
{
    /// <summary>SHA-256 of "secret".</summary>
    internal const string SecretHash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    internal static string Config(string extra = "", string routes = "") => $$"""
        apiKeys: [{ id: fleet-a, sha256: {{SecretHash}} }]
        targets:
          rec: { type: recording, batch: { linger: 1ms } }
        {{extra}}
        routes:
          - { route: "WEBSOCKET $connect", target: rec, auth: [apiKey] }
          - { route: "WEBSOCKET $default", target: rec }
          - { route: "WEBSOCKET $disconnect", target: rec }
          - { route: POST /v1/events, target: rec, auth: none, public: true }
        {{routes}}
        """;

    internal static GatewayOptions With(RecordingTargetKind backend) => new()
    {
        ConfigureServices = services => services.AddSingleton<ITargetKind>(backend),
        DrainTimeout = TimeSpan.FromSeconds(10),
    };

    internal static string? Header(IngestEvent e, string name) => e.Header(name);

    internal static async Task<IngestEvent> EventAsync(RecordingTargetKind backend, Func<IngestEvent, bool> match)
    {
        IngestEvent? found = null;
        await Poll.UntilAsync(() => (found = backend.Delivered.Values.FirstOrDefault(match)) is not null, TimeSpan.FromSeconds(10));
        return found!;
    }

    internal static Task<IngestEvent> ConnectEventAsync(RecordingTargetKind backend) =>
        EventAsync(backend, e => e.Header("event-type") == "CONNECT");

    [Fact]
    public async Task Upgrade_needs_a_valid_api_key_403_otherwise()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Config(), With(backend));

        var (missing, missingStatus) = await WebSocketClient.TryConnectAsync(gateway, apiKey: null);
        var (wrong, wrongStatus) = await WebSocketClient.TryConnectAsync(gateway, apiKey: "not-the-key");
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        Assert.Null(missing);
        Assert.Equal(HttpStatusCode.Forbidden, missingStatus);
        Assert.Null(wrong);
        Assert.Equal(HttpStatusCode.Forbidden, wrongStatus);
        Assert.Equal(WebSocketState.Open, client.Socket.State);
        var lines = (await gateway.AccessLogLinesAsync(3)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([403, 403, 101], lines.Select(l => l.GetProperty("status").GetInt32()));
        Assert.All(lines, l => Assert.Equal("WEBSOCKET $connect", l.GetProperty("routeKey").GetString()));
        Assert.All(lines, l => Assert.Equal("CONNECT", l.GetProperty("eventType").GetString()));
        Assert.Equal("fleet-a", lines[2].GetProperty("apiKeyId").GetString());
        Assert.DoesNotContain("not-the-key", string.Join("\n", lines.Select(l => l.GetRawText())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_jwt_in_the_query_stands_in_for_the_authorization_header_401_without_it()
    {
        var key = Ingest.TestSupport.Auth.TestKey.Rsa("k1");
        var jwks = Path.Combine(Path.GetTempPath(), $"ingest-ws-jwks-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(jwks, Ingest.TestSupport.Auth.TestKey.Jwks(key));
        try
        {
            await using var gateway = await ConsoleGateway.StartAsync($$"""
                webSocket: { queryToken: access_token }
                authorizers:
                  users: { type: jwt, issuer: "https://issuer.test/", audience: ingest, jwks: "file:{{jwks}}" }
                targets:
                  sink: { type: blackhole }
                routes:
                  - { route: "WEBSOCKET $connect", target: sink, auth: [users] }
                  - { route: "WEBSOCKET $default", target: sink }
                """);
            var token = key.Token(DateTimeOffset.UtcNow, subject: "browser-9");

            var (_, without) = await WebSocketClient.TryConnectAsync(gateway, apiKey: null);
            var (_, forged) = await WebSocketClient.TryConnectAsync(gateway, "/ws?access_token=not.a.jwt", apiKey: null);
            await using var client = await WebSocketClient.ConnectAsync(gateway, $"/ws?access_token={token}", apiKey: null);

            Assert.Equal(HttpStatusCode.Unauthorized, without);
            Assert.Equal(HttpStatusCode.Unauthorized, forged);
            Assert.Equal("ack", (await client.SendAndReceiveAsync("""{"n":1}""")).GetProperty("type").GetString());
            var lines = await gateway.AccessLogLinesAsync(4);
            Assert.Equal("browser-9", JsonDocument.Parse(lines[2]).RootElement.GetProperty("principal").GetString());
            Assert.DoesNotContain(token.Split('.')[2], string.Join("\n", lines), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(jwks);
        }
    }

    [Fact]
    public async Task Each_message_is_an_event_of_default_and_its_ack_carries_the_event_id_the_target_received()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Config(), With(backend));
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        var acks = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            acks.Add(await client.SendAndReceiveAsync($$"""{"temp":{{20 + i}}}"""));
        }
        await client.SendAsync([0x00, 0xff, 0x10]);
        var binaryAck = await client.ReceiveJsonAsync();
        await client.CloseAsync();

        Assert.All(acks, a => Assert.Equal("ack", a.GetProperty("type").GetString()));
        var connect = await ConnectEventAsync(backend);
        var connectionId = connect.Header("connection-id")!;
        Assert.Equal(16, connectionId.Length);
        using (var body = JsonDocument.Parse(connect.Body))
        {
            Assert.Equal(connectionId, body.RootElement.GetProperty("connectionId").GetString());
            Assert.Equal("fleet-a", body.RootElement.GetProperty("apiKeyId").GetString());
        }
        for (var i = 0; i < 3; i++)
        {
            var id = Guid.Parse(acks[i].GetProperty("eventId").GetString()!);
            Assert.Equal(id.ToString(), acks[i].GetProperty("requestId").GetString());
            var e = await EventAsync(backend, e => e.Id == id);
            Assert.Equal($$"""{"temp":{{20 + i}}}""", Encoding.UTF8.GetString(e.Body.Span));
            Assert.Equal("WEBSOCKET $default", e.RouteKey);
            Assert.Equal("application/json", e.ContentType);
            Assert.Equal(connectionId, e.Header("connection-id"));
            Assert.Equal("MESSAGE", e.Header("event-type"));
            Assert.Equal("127.0.0.1", e.SourceIp);
        }
        var binary = await EventAsync(backend, e => e.Id == Guid.Parse(binaryAck.GetProperty("eventId").GetString()!));
        Assert.Equal([0x00, 0xff, 0x10], binary.Body.ToArray());
        Assert.Equal("application/octet-stream", binary.ContentType);

        var disconnect = await EventAsync(backend, e => e.Header("event-type") == "DISCONNECT");
        Assert.Equal(connectionId, disconnect.Header("connection-id"));
        using (var body = JsonDocument.Parse(disconnect.Body))
        {
            Assert.Equal(1000, body.RootElement.GetProperty("disconnectStatusCode").GetInt32());
        }
        Assert.Equal(6, backend.Delivered.Count);

        // connect, 4 messages, disconnect: one access-log line each, the messages as 202 of $default.
        var lines = (await gateway.AccessLogLinesAsync(6)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["CONNECT", "MESSAGE", "MESSAGE", "MESSAGE", "MESSAGE", "DISCONNECT"], lines.Select(l => l.GetProperty("eventType").GetString()));
        Assert.All(lines.Skip(1).Take(4), l => Assert.Equal(202, l.GetProperty("status").GetInt32()));
        Assert.All(lines, l => Assert.Equal(connectionId, l.GetProperty("connectionId").GetString()));
        Assert.Equal(1000, lines[5].GetProperty("disconnectStatusCode").GetInt32());
    }

    [Fact]
    public async Task Route_selection_sends_each_message_to_the_route_its_action_names_else_to_default()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Config(
            extra: "webSocket: { routeSelection: $request.body.action }",
            routes: """
                  - { route: "WEBSOCKET sendTelemetry", target: rec, validate: json }
                  - { route: "WEBSOCKET nested", target: rec }
                """), With(backend));
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        var telemetry = await client.SendAndReceiveAsync("""{"action":"sendTelemetry","temp":21}""");
        var unknown = await client.SendAndReceiveAsync("""{"action":"somethingElse"}""");
        var notJson = await client.SendAndReceiveAsync("plain text");
        var numeric = await client.SendAndReceiveAsync("""{"action":7}""");

        async Task<string> RouteOf(JsonElement ack) =>
            (await EventAsync(backend, e => e.Id == Guid.Parse(ack.GetProperty("eventId").GetString()!))).RouteKey;
        Assert.Equal("WEBSOCKET sendTelemetry", await RouteOf(telemetry));
        Assert.Equal("WEBSOCKET $default", await RouteOf(unknown));
        Assert.Equal("WEBSOCKET $default", await RouteOf(notJson));
        Assert.Equal("WEBSOCKET $default", await RouteOf(numeric));

        // The selected route's payload checks apply: sendTelemetry validates JSON.
        var truncated = await client.SendAndReceiveAsync("""{"action":"sendTelemetry","temp":""");
        Assert.Equal("error", truncated.GetProperty("type").GetString());
        Assert.Equal(400, truncated.GetProperty("status").GetInt32());
        Assert.StartsWith("Invalid request body", truncated.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("ack", (await client.SendAndReceiveAsync("""{"action":"sendTelemetry"}""")).GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_message_no_route_takes_gets_a_403_error_frame_and_the_connection_stays_open()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync($$"""
            apiKeys: [{ id: fleet-a, sha256: {{SecretHash}} }]
            webSocket: { routeSelection: "json:action" }
            targets:
              rec: { type: recording, batch: { linger: 1ms } }
            routes:
              - { route: "WEBSOCKET $connect", target: rec, auth: [apiKey] }
              - { route: "WEBSOCKET ping", target: rec }
            """, With(backend));
        await using var client = await WebSocketClient.ConnectAsync(gateway);

        var refused = await client.SendAndReceiveAsync("""{"action":"pong"}""");
        var taken = await client.SendAndReceiveAsync("""{"action":"ping"}""");

        Assert.Equal(403, refused.GetProperty("status").GetInt32());
        Assert.Equal("Forbidden", refused.GetProperty("message").GetString());
        Assert.False(string.IsNullOrEmpty(refused.GetProperty("connectionId").GetString()));
        Assert.Equal("ack", taken.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Admin_push_reaches_the_client_get_describes_it_delete_closes_it_then_410()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Config(), With(backend));
        await using var client = await WebSocketClient.ConnectAsync(gateway, configure: o => o.SetRequestHeader("User-Agent", "probe/2"));
        Assert.Equal("ack", (await client.SendAndReceiveAsync("{}")).GetProperty("type").GetString());
        var id = (await ConnectEventAsync(backend)).Header("connection-id")!;

        var push = await gateway.Admin.PostAsync($"/admin/connections/{id}", new StringContent("""{"alert":"hello"}""", Encoding.UTF8, "application/json"));
        var (type, data) = await client.ReceiveAsync();
        var binaryPush = await gateway.Admin.PostAsync($"/admin/connections/{id}", new ByteArrayContent([0xff, 0xfe, 0x00]));
        var (binaryType, binaryData) = await client.ReceiveAsync();
        var described = await gateway.Admin.GetAsync($"/admin/connections/{id}");
        var anonymous = await gateway.Anonymous.PostAsync($"/admin/connections/{id}", new StringContent("x"));

        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal("""{"alert":"hello"}""", Encoding.UTF8.GetString(data));
        Assert.Equal(HttpStatusCode.OK, binaryPush.StatusCode);
        Assert.Equal(WebSocketMessageType.Binary, binaryType);
        Assert.Equal([0xff, 0xfe, 0x00], binaryData);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, described.StatusCode);
        var info = JsonDocument.Parse(await described.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(id, info.GetProperty("connectionId").GetString());
        Assert.Equal("127.0.0.1", info.GetProperty("sourceIp").GetString());
        Assert.Equal("fleet-a", info.GetProperty("identity").GetProperty("apiKeyId").GetString());
        Assert.Equal("probe/2", info.GetProperty("identity").GetProperty("userAgent").GetString());
        Assert.True(DateTimeOffset.Parse(info.GetProperty("lastActiveAt").GetString()!) >= DateTimeOffset.Parse(info.GetProperty("connectedAt").GetString()!));

        var deleted = await gateway.Admin.DeleteAsync($"/admin/connections/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.ReceiveCloseAsync());

        await Poll.UntilAsync(() => backend.Delivered.Values.Any(e => e.Header("event-type") == "DISCONNECT"), TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Gone, (await gateway.Admin.PostAsync($"/admin/connections/{id}", new StringContent("late"))).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await gateway.Admin.GetAsync($"/admin/connections/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await gateway.Admin.DeleteAsync($"/admin/connections/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await gateway.Admin.GetAsync("/admin/connections/never-was-one")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await gateway.Admin.PutAsync($"/admin/connections/{id}", new StringContent("x"))).StatusCode);
    }

    [Fact]
    public async Task Http_routes_keep_working_beside_the_websocket_path_which_answers_404_without_an_upgrade()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Config(), With(backend));

        var posted = await gateway.PostJsonAsync("/v1/events", "{}");
        var plainGet = await gateway.Client.GetAsync("/ws");
        var (_, elsewhere) = await WebSocketClient.TryConnectAsync(gateway, "/not-ws");

        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, plainGet.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, elsewhere);
    }

    [Fact]
    public async Task With_stages_the_upgrade_path_is_per_stage_and_events_name_the_stage()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync(Config(extra: "stages: [{ name: prod }, { name: beta }]"), With(backend));

        var (_, bare) = await WebSocketClient.TryConnectAsync(gateway, "/ws");
        await using var client = await WebSocketClient.ConnectAsync(gateway, "/beta/ws");
        var ack = await client.SendAndReceiveAsync("{}");

        Assert.Equal(HttpStatusCode.NotFound, bare);
        Assert.Equal("ack", ack.GetProperty("type").GetString());
        var connect = await ConnectEventAsync(backend);
        using var body = JsonDocument.Parse(connect.Body);
        Assert.Equal("beta", body.RootElement.GetProperty("stage").GetString());
        var lines = (await gateway.AccessLogLinesAsync(3)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("beta", lines[^1].GetProperty("stage").GetString());
        Assert.Equal("MESSAGE", lines[^1].GetProperty("eventType").GetString());
    }
}
