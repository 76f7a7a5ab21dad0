using System.Text;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;

namespace Ingest.Gateway.Tests.Security;

/// <summary>Resource policy against a real Kestrel; the socket peer is 127.0.0.1.</summary>
public class ResourcePolicyGatewayTests
{
    private static string Deny(string routeKey) =>
        $"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {routeKey} with an explicit deny";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Route_deny_and_route_allow_list_refuse_with_the_explicit_deny_403()
    {
        await using var gateway = await TestGateway.StartAsync("""
            resourcePolicy: { allow: [0.0.0.0/0, "::/0"], deny: [] }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /open, target: sink, auth: none, public: true }
              - { route: POST /denied, target: sink, auth: none, public: true, resourcePolicy: { deny: [127.0.0.0/8] } }
              - { route: POST /vpc-only, target: sink, auth: none, public: true, resourcePolicy: { allow: [10.0.0.0/8] } }
              - { route: POST /loopback-only, target: sink, auth: none, public: true, resourcePolicy: { allow: [127.0.0.1, "::1"] } }
            """);

        var open = await gateway.Client.PostAsync("/open", Json("{}"));
        var denied = await gateway.Client.PostAsync("/denied", Json("{}"));
        var vpcOnly = await gateway.Client.PostAsync("/vpc-only", Json("{}"));
        var loopback = await gateway.Client.PostAsync("/loopback-only", Json("{}"));

        Assert.Equal(202, (int)open.StatusCode);
        await StatusCodeTests.AssertError(denied, 403, Deny("POST /denied"));
        await StatusCodeTests.AssertError(vpcOnly, 403, Deny("POST /vpc-only"));
        Assert.Equal(202, (int)loopback.StatusCode);

        var rules = (await gateway.AccessLogLinesAsync(4))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => e.TryGetProperty("firewallRule", out var rule) && rule.ValueKind == JsonValueKind.String ? rule.GetString()! : "")
            .ToArray();
        Assert.Equal(["", "routes[1].resourcePolicy.deny[0] 127.0.0.0/8", "routes[2].resourcePolicy.allow (no range matched)", ""], rules);
    }

    [Fact]
    public async Task Gateway_deny_wins_over_every_allow()
    {
        await using var gateway = await TestGateway.StartAsync("""
            resourcePolicy: { allow: [127.0.0.0/8], deny: [127.0.0.1] }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true, resourcePolicy: { allow: [127.0.0.1] } }
            """);

        var response = await gateway.Client.PostAsync("/v1/events", Json("{}"));

        await StatusCodeTests.AssertError(response, 403, Deny("POST /v1/events"));
    }

    [Fact]
    public async Task Policy_is_checked_before_the_body_is_read()
    {
        await using var gateway = await TestGateway.StartAsync("""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /denied, target: sink, auth: none, public: true, resourcePolicy: { deny: [127.0.0.1] } }
            """);

        // Promises a body it never sends: the 403 must come anyway.
        var (status, _, body) = await RawHttp.SendAsync(gateway,
            "POST /denied HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n");

        Assert.Equal(403, status);
        Assert.Equal(Deny("POST /denied"), RawHttp.Message(body));
    }
}
