using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Tests.Admin;

/// <summary>The admin API on the admin port, against a real Kestrel.</summary>
public class AdminApiTests
{
    private const string Config = """
        targets:
          sink: { type: blackhole }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
          - { route: "POST /v1/devices/{id}/events", target: sink, auth: none, public: true, maxBodyBytes: 100 }
        """;

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Without_a_configured_token_the_admin_api_is_refused_with_the_fix()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config, token: null);

        var body = await Json(await gateway.Admin.GetAsync("/admin/routes"), HttpStatusCode.Forbidden);

        Assert.Contains("set admin.token", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        // Health, readiness and metrics stay open.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.Anonymous.GetAsync("/status/data")).StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Bearer test-admin-token-012345678")]
    [InlineData("Basic dGVzdC1hZG1pbi10b2tlbi0wMTIzNDU2Nzg5")]
    public async Task Every_admin_path_needs_the_bearer_token(string? authorization)
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);
        foreach (var (method, path) in new[] { ("GET", "/admin/routes"), ("GET", "/admin/targets"), ("GET", "/admin/usage"), ("POST", "/admin/flush-cache"), ("POST", "/admin/test-invoke"), ("PUT", "/admin/routes/POST%20%2Fv1%2Fevents/execution-log"), ("GET", "/admin/nothing") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }
            var response = await gateway.Anonymous.SendAsync(request);

            var body = await Json(response, HttpStatusCode.Unauthorized);
            Assert.Equal("Unauthorized", body.GetProperty("message").GetString());
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Fact]
    public async Task Routes_lists_target_auth_ack_and_the_execution_log_switch()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);

        var routes = (await Json(await gateway.Admin.GetAsync("/admin/routes"))).GetProperty("routes").EnumerateArray().ToList();

        Assert.Equal(2, routes.Count);
        var events = routes[0];
        Assert.Equal("POST /v1/events", events.GetProperty("routeKey").GetString());
        Assert.Equal("sink", events.GetProperty("target").GetString());
        Assert.Equal("blackhole", events.GetProperty("targetType").GetString());
        Assert.Equal(["none"], events.GetProperty("auth").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("memory", events.GetProperty("ack").GetString());
        Assert.False(events.GetProperty("executionLog").GetBoolean());
        Assert.Equal(100, routes[1].GetProperty("maxBodyBytes").GetInt64());
    }

    [Fact]
    public async Task Targets_report_queued_delivered_and_reachability()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostJsonAsync("/v1/events", "{}")).StatusCode);
        }

        var target = Assert.Single((await Json(await gateway.Admin.GetAsync("/admin/targets"))).GetProperty("targets").EnumerateArray());

        Assert.Equal("sink", target.GetProperty("name").GetString());
        Assert.Equal("blackhole", target.GetProperty("type").GetString());
        Assert.Equal(0, target.GetProperty("queued").GetInt32());
        Assert.Equal(3, target.GetProperty("delivered").GetInt64());
        Assert.Equal(0, target.GetProperty("deadLettered").GetInt64());
        Assert.True(target.GetProperty("reachable").GetBoolean());
        Assert.Equal(JsonValueKind.String, target.GetProperty("lastDelivery").ValueKind);
    }

    [Fact]
    public async Task Stages_deployment_flush_cache_and_usage_answer()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);
        await gateway.PostJsonAsync("/v1/events", "{}");
        await gateway.PostJsonAsync("/v1/events", "{}");
        await gateway.Client.PostAsync("/v1/events", new StringContent("x", Encoding.UTF8, "text/plain"));

        Assert.Empty((await Json(await gateway.Admin.GetAsync("/admin/stages"))).GetProperty("stages").EnumerateArray());

        var deployment = (await Json(await gateway.Admin.GetAsync("/admin/deployment"))).GetProperty("current");
        Assert.Equal(DeploymentInfo.Sha256(gateway.Config), deployment.GetProperty("configSha256").GetString());
        Assert.Matches("^[0-9a-f]{64}$", deployment.GetProperty("configSha256").GetString());
        Assert.Equal(2, deployment.GetProperty("routes").GetInt32());
        Assert.InRange(deployment.GetProperty("loadedAt").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddSeconds(1));

        var flushed = await Json(await gateway.Admin.PostAsync("/admin/flush-cache", null));
        Assert.Equal(0, flushed.GetProperty("flushed").GetInt32());

        var usage = Assert.Single((await Json(await gateway.Admin.GetAsync("/admin/usage"))).GetProperty("usage").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, usage.GetProperty("apiKeyId").ValueKind);
        Assert.Equal(3, usage.GetProperty("requests").GetInt64());
        Assert.Equal(2, usage.GetProperty("events").GetInt64());
    }

    [Fact]
    public async Task Unknown_admin_paths_and_methods_are_json_errors()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);

        Assert.Equal("Not Found", (await Json(await gateway.Admin.GetAsync("/admin/nothing"), HttpStatusCode.NotFound)).GetProperty("message").GetString());
        Assert.Equal("Method Not Allowed", (await Json(await gateway.Admin.DeleteAsync("/admin/routes"), HttpStatusCode.MethodNotAllowed)).GetProperty("message").GetString());
        Assert.Equal("Not Found", (await Json(await gateway.Anonymous.GetAsync("/nothing"), HttpStatusCode.NotFound)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Readiness_reports_each_check()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Config);

        var ready = await Json(await gateway.Anonymous.GetAsync("/readyz"));

        Assert.Equal("ready", ready.GetProperty("status").GetString());
        var checks = ready.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("ok").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["config"] = true, ["draining"] = true, ["target:sink"] = true }, checks);
    }

    [Fact]
    public async Task Usage_counts_requests_and_events_per_api_key_with_the_quota_left()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            apiKeys:
              - { id: fleet-a, sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b }
              - { id: fleet-b, sha256: 0000000000000000000000000000000000000000000000000000000000000000 }
            usagePlans:
              - { name: standard, quota: { limit: 1000, period: day }, keys: [fleet-a] }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: [apiKey] }
            """);
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            request.Headers.Add("x-api-key", "secret");
            Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(request)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await gateway.PostJsonAsync("/v1/events", "{}")).StatusCode);

        var rows = (await Json(await gateway.Admin.GetAsync("/admin/usage"))).GetProperty("usage").EnumerateArray().ToList();

        Assert.Equal(3, rows.Count);
        Assert.Equal("fleet-a", rows[0].GetProperty("apiKeyId").GetString());
        Assert.Equal(3, rows[0].GetProperty("requests").GetInt64());
        Assert.Equal(3, rows[0].GetProperty("events").GetInt64());
        Assert.Equal(997, rows[0].GetProperty("quotaRemaining").GetInt64());
        Assert.Equal("standard", rows[0].GetProperty("quota").GetProperty("plan").GetString());
        Assert.Equal("fleet-b", rows[1].GetProperty("apiKeyId").GetString());
        Assert.Equal(0, rows[1].GetProperty("requests").GetInt64());
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("quotaRemaining").ValueKind);
        Assert.Equal(JsonValueKind.Null, rows[2].GetProperty("apiKeyId").ValueKind);
        Assert.Equal(1, rows[2].GetProperty("requests").GetInt64());
        Assert.Equal(0, rows[2].GetProperty("events").GetInt64());
    }
}
