using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Admin;

/// <summary><c>POST /admin/test-invoke</c>: the real lifecycle as a dry run.</summary>
public class TestInvokeTests
{
    private static async Task<JsonElement> InvokeAsync(ConsoleGateway gateway, string request)
    {
        var response = await gateway.Admin.PostAsync("/admin/test-invoke", new StringContent(request, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Runs_the_lifecycle_returns_the_envelope_and_log_and_sends_nothing()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              rec: { type: recording, batch: { linger: 1ms } }
            routes:
              - { route: "POST /v1/devices/{id}/events", target: rec, auth: none, public: true, headers: [x-device] }
            """, new GatewayOptions { ConfigureServices = s => s.AddSingleton<ITargetKind>(backend) });

        var result = await InvokeAsync(gateway, """
            {"method":"POST","path":"/v1/devices/7/events",
             "headers":{"Content-Type":"application/json","x-device":"d-7","x-api-key":"very-secret"},
             "body":"{\"temp\":21}"}
            """);

        Assert.Equal(202, result.GetProperty("status").GetInt32());
        using var body = JsonDocument.Parse(result.GetProperty("body").GetString()!);
        var requestId = body.RootElement.GetProperty("requestId").GetString();
        Assert.Equal(requestId, result.GetProperty("headers").GetProperty("x-request-id").GetString());
        Assert.True(result.GetProperty("latencyMs").GetDouble() > 0);

        var transformed = result.GetProperty("transformedRequest");
        Assert.Equal("rec", transformed.GetProperty("target").GetString());
        Assert.True(transformed.GetProperty("dryRun").GetBoolean());
        var envelope = Assert.Single(transformed.GetProperty("events").EnumerateArray());
        Assert.Equal(requestId, envelope.GetProperty("id").GetString());
        Assert.Equal("POST /v1/devices/{id}/events", envelope.GetProperty("route").GetString());
        Assert.Equal("{\"temp\":21}", envelope.GetProperty("body").GetString());
        Assert.Equal("d-7", envelope.GetProperty("headers").GetProperty("x-device").GetString());

        var log = result.GetProperty("log").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.Contains(log, l => l.EndsWith($"Starting execution for request: {requestId}", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("Matched route: POST /v1/devices/{id}/events -> target rec", StringComparison.Ordinal));
        Assert.Contains(log, l => l.EndsWith("Resource policy: skipped (test invoke)", StringComparison.Ordinal));
        Assert.Contains(log, l => l.EndsWith("Authentication: passed", StringComparison.Ordinal));
        Assert.Contains(log, l => l.EndsWith("Throttle: passed", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("Endpoint request body after transformations: {", StringComparison.Ordinal));
        Assert.Contains(log, l => l.EndsWith("Dry run: not sent to target rec", StringComparison.Ordinal));
        Assert.Contains(log, l => l.EndsWith("Method completed with status: 202", StringComparison.Ordinal));
        Assert.Matches(@"^\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC \d{4} : ", log[0]);
        // Credentials never reach the log.
        Assert.DoesNotContain(log, l => l.Contains("very-secret", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("x-api-key=****", StringComparison.Ordinal));

        // Dry run: nothing reached the target, nothing was access-logged or counted.
        var real = await gateway.PostJsonAsync("/v1/devices/8/events", "{}");
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
        await Poll.UntilAsync(() => backend.Delivered.Count == 1, TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(backend.Delivered.Keys, k => k.ToString() == requestId);
        var lines = await gateway.AccessLogLinesAsync(1);
        Assert.Single(lines);
        Assert.DoesNotContain(requestId!, lines[0], StringComparison.Ordinal);
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_events_accepted_total") == 1);
        Assert.Equal(1, scrape.Sum("ingest_events_accepted_total"));
        Assert.Equal(1, scrape.Sum("ingest_requests_total"));
    }

    [Fact]
    public async Task Rejections_come_back_with_the_step_that_refused()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """);

        var refused = await InvokeAsync(gateway, """{"method":"POST","path":"/v1/events","headers":{"Content-Type":"text/plain"},"body":"x"}""");
        Assert.Equal(415, refused.GetProperty("status").GetInt32());
        Assert.Equal("""{"message":"Unsupported Media Type"}""", refused.GetProperty("body").GetString());
        Assert.Equal(JsonValueKind.Null, refused.GetProperty("transformedRequest").ValueKind);
        Assert.Contains(refused.GetProperty("log").EnumerateArray(), l => l.GetString()!.EndsWith("Payload headers (size, content type): refused with 415 Unsupported Media Type", StringComparison.Ordinal));

        var noRoute = await InvokeAsync(gateway, """{"method":"GET","path":"/v1/nothing"}""");
        Assert.Equal(404, noRoute.GetProperty("status").GetInt32());
        Assert.Contains("No route matches GET /v1/nothing", Assert.Single(noRoute.GetProperty("log").EnumerateArray()).GetString(), StringComparison.Ordinal);

        // A JSON body value is sent as its JSON text.
        var jsonBody = await InvokeAsync(gateway, """{"path":"/v1/events","headers":{"content-type":"application/json"},"body":{"a":[1,2]}}""");
        Assert.Equal(202, jsonBody.GetProperty("status").GetInt32());
        Assert.Equal("""{"a":[1,2]}""", jsonBody.GetProperty("transformedRequest").GetProperty("events")[0].GetProperty("body").GetString());
    }

    [Fact]
    public async Task Malformed_requests_get_400_with_the_fix()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """);

        foreach (var (request, message) in new[] { ("not json", "Body is not JSON"), ("""{"method":"POST"}""", "path: required"), ("[1]", "Body must be a JSON object") })
        {
            var response = await gateway.Admin.PostAsync("/admin/test-invoke", new StringContent(request, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Authentication_runs_for_real_and_names_the_key()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            apiKeys:
              - { id: fleet-a, sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: [apiKey] }
            """);

        var withKey = await InvokeAsync(gateway, """{"path":"/v1/events","headers":{"content-type":"application/json","x-api-key":"secret"},"body":"{}"}""");
        Assert.Equal(202, withKey.GetProperty("status").GetInt32());
        Assert.Contains(withKey.GetProperty("log").EnumerateArray(), l => l.GetString()!.EndsWith("Authentication: passed, apiKeyId fleet-a", StringComparison.Ordinal));
        Assert.DoesNotContain(withKey.GetProperty("log").EnumerateArray(), l => l.GetString()!.Contains("secret", StringComparison.Ordinal));

        var withoutKey = await InvokeAsync(gateway, """{"path":"/v1/events","headers":{"content-type":"application/json"},"body":"{}"}""");
        Assert.Equal(403, withoutKey.GetProperty("status").GetInt32());
        Assert.Contains(withoutKey.GetProperty("log").EnumerateArray(), l => l.GetString()!.Contains("Authentication: refused with 403 Forbidden", StringComparison.Ordinal));
        Assert.Equal(JsonValueKind.Null, withoutKey.GetProperty("transformedRequest").ValueKind);
    }
}
