using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Tests.Admin;

/// <summary>Per-route execution logging switched at run time.</summary>
public class ExecutionLogTests
{
    private const string EventsKey = "POST%20%2Fv1%2Fevents";

    private static StringContent Switch(bool enabled) => new($$"""{"enabled":{{(enabled ? "true" : "false")}}}""", Encoding.UTF8, "application/json");

    private static List<string> ExecutionLines(ConsoleGateway gateway) =>
        gateway.Logs.Lines.Where(l => l.Category == ExecutionTrace.Category).Select(l => l.Message).ToList();

    [Fact]
    public async Task Is_off_by_default_and_logs_each_step_of_one_route_once_switched_on()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
              - { route: POST /v1/other, target: sink, auth: none, public: true }
            """);

        await gateway.PostJsonAsync("/v1/events", "{}");
        Assert.Empty(ExecutionLines(gateway));

        var on = await gateway.Admin.PutAsync($"/admin/routes/{EventsKey}/execution-log", Switch(true));
        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        using (var state = JsonDocument.Parse(await on.Content.ReadAsStringAsync()))
        {
            Assert.Equal("POST /v1/events", state.RootElement.GetProperty("routeKey").GetString());
            Assert.True(state.RootElement.GetProperty("enabled").GetBoolean());
        }
        var routes = await gateway.Admin.GetStringAsync("/admin/routes");
        Assert.Contains("\"routeKey\":\"POST /v1/events\",", routes, StringComparison.Ordinal);
        Assert.Contains("\"executionLog\":true", routes, StringComparison.Ordinal);

        var accepted = await gateway.PostJsonAsync("/v1/events", """{"temp":21}""");
        var requestId = accepted.Headers.GetValues("x-request-id").Single();
        await gateway.Client.PostAsync("/v1/events", new StringContent("x", Encoding.UTF8, "text/plain"));
        await gateway.PostJsonAsync("/v1/other", "{}");

        var lines = ExecutionLines(gateway);
        var mine = lines.Where(l => l.Contains(requestId, StringComparison.Ordinal)).ToList();
        Assert.All(lines, l => Assert.StartsWith("POST /v1/events ", l, StringComparison.Ordinal));
        Assert.Contains(mine, l => l.EndsWith("Matched route: POST /v1/events -> target sink (ack: memory), client 127.0.0.1", StringComparison.Ordinal));
        Assert.Contains(mine, l => l.EndsWith("Resource policy: passed", StringComparison.Ordinal));
        Assert.Contains(mine, l => l.EndsWith("Authentication: passed", StringComparison.Ordinal));
        Assert.Contains(mine, l => l.EndsWith("Throttle: passed", StringComparison.Ordinal));
        Assert.Contains(mine, l => l.Contains("Endpoint request body after transformations: {\"id\":\"" + requestId, StringComparison.Ordinal));
        Assert.Contains(mine, l => l.EndsWith("Enqueue to target sink: Accepted", StringComparison.Ordinal));
        Assert.Contains(mine, l => l.EndsWith("Method completed with status: 202", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("refused with 415 Unsupported Media Type", StringComparison.Ordinal));
        Assert.All(gateway.Logs.Lines.Where(l => l.Category == ExecutionTrace.Category), l => Assert.Equal(LogLevel.Information, l.Level));

        var off = await gateway.Admin.PutAsync($"/admin/routes/{EventsKey}/execution-log", Switch(false));
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        var before = ExecutionLines(gateway).Count;
        await gateway.PostJsonAsync("/v1/events", "{}");
        Assert.Equal(before, ExecutionLines(gateway).Count);
        var state2 = await gateway.Admin.GetStringAsync($"/admin/routes/{EventsKey}/execution-log");
        Assert.Contains("\"enabled\":false", state2, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_routes_and_bad_bodies_are_refused()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """);

        var unknown = await gateway.Admin.PutAsync("/admin/routes/GET%20%2Fnope/execution-log", Switch(true));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("No route 'GET /nope'", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var bad = await gateway.Admin.PutAsync($"/admin/routes/{EventsKey}/execution-log", new StringContent("{\"enabled\":\"yes\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var wrongMethod = await gateway.Admin.DeleteAsync($"/admin/routes/{EventsKey}/execution-log");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
    }
}
