using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Deployments;

/// <summary>Stages: routes under /{stage}/..., per-stage throttle, stage variables, hosts, access log, admin views.</summary>
public class StagesTests
{
    private const string TwoStages = """
        stages:
          - { name: prod, variables: { queue: prod-events, color: blue } }
          - { name: dev, variables: { queue: dev-events, color: green } }
        targets:
          events: { type: recording, queue: "${stageVariables.queue}", batch: { linger: 1ms } }
          sink: { type: blackhole }
        routes:
          - { route: POST /v1/events, target: events, auth: none, public: true }
          - { route: POST /v1/sink, target: sink, auth: none, public: true }
        """;

    [Fact]
    public async Task Routes_are_served_under_each_stage_prefix_with_the_stage_in_the_access_log()
    {
        await using var gateway = await DeploymentGateway.StartAsync(TwoStages);

        Assert.Equal(HttpStatusCode.NotFound, (await gateway.PostAsync("/v1/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.PostAsync("/test/v1/events")).StatusCode);
        var prod = await gateway.PostAsync("/prod/v1/events", """{"n":"prod"}""");
        var dev = await gateway.PostAsync("/dev/v1/events", """{"n":"dev"}""");
        Assert.Equal(HttpStatusCode.Accepted, prod.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, dev.StatusCode);

        // Each stage delivers through its own instance of the target, built with its variables.
        var routes = gateway.Runtime.Current.RouteList;
        var prodRoute = Assert.Single(routes, r => r.Stage == "prod" && r.RouteKey == "POST /v1/events");
        var devRoute = Assert.Single(routes, r => r.Stage == "dev" && r.RouteKey == "POST /v1/events");
        Assert.Equal("events@prod", prodRoute.Target.Name);
        Assert.Equal("events@dev", devRoute.Target.Name);
        Assert.Equal("blue", prodRoute.StageVariables["color"]);
        Assert.Equal("green", devRoute.StageVariables["color"]);
        Assert.Equal(["events@dev", "events@prod", "sink"], gateway.Runtime.Targets.Keys.Order(StringComparer.Ordinal));
        var prodId = Guid.Parse(prod.Headers.GetValues("x-request-id").Single());
        await Poll.UntilAsync(() => gateway.Backend.Delivered.ContainsKey(prodId), TimeSpan.FromSeconds(10));

        var lines = await ReadAccessLogAsync(gateway, 4);
        var stages = lines.Select(l => l.TryGetProperty("stage", out var s) ? s.GetString() : null).ToList();
        Assert.Equal([null, null, "prod", "dev"], stages);
        Assert.Equal("POST /v1/events", lines[2].GetProperty("routeKey").GetString());
    }

    [Fact]
    public async Task Admin_stages_and_test_invoke_show_the_stage_and_its_variables()
    {
        await using var gateway = await DeploymentGateway.StartAsync(TwoStages);

        var stages = JsonDocument.Parse(await gateway.Admin.GetStringAsync("/admin/stages")).RootElement.GetProperty("stages");
        Assert.Equal(2, stages.GetArrayLength());
        Assert.Equal("/prod", stages[0].GetProperty("prefix").GetString());
        Assert.Equal("dev-events", stages[1].GetProperty("variables").GetProperty("queue").GetString());

        using var invoke = await gateway.Admin.PostAsJsonAsync("/admin/test-invoke", new { method = "POST", path = "/dev/v1/events", headers = new Dictionary<string, string> { ["content-type"] = "application/json" }, body = "{}" });
        var answer = JsonDocument.Parse(await invoke.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("dev", answer.GetProperty("stage").GetString());
        Assert.Equal("green", answer.GetProperty("stageVariables").GetProperty("color").GetString());
        Assert.Equal("events@dev", answer.GetProperty("transformedRequest").GetProperty("target").GetString());
        Assert.Equal("recording", answer.GetProperty("transformedRequest").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Each_stage_has_its_own_bucket_and_its_hosts_serve_it_without_the_prefix()
    {
        await using var gateway = await DeploymentGateway.StartAsync("""
            stages:
              - { name: prod, throttle: { rate: 0.001, burst: 3 }, hosts: [api.example.test] }
              - { name: dev }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
              - { route: POST /v1/other, target: sink, auth: none, public: true }
            """);

        // The stage bucket is shared by every route of the stage, whichever way the stage is reached.
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/prod/v1/events")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/prod/v1/other")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/v1/events", host: "api.example.test")).StatusCode);
        var throttled = await gateway.PostAsync("/v1/other", host: "api.example.test");
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.True(throttled.Headers.Contains("Retry-After"));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await gateway.PostAsync("/prod/v1/events")).StatusCode);

        // Other stages and other hosts are not limited by it.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/dev/v1/events")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.PostAsync("/v1/events")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.PostAsync("/v1/events", host: "other.example.test")).StatusCode);

        var lines = await ReadAccessLogAsync(gateway, 12);
        Assert.Equal("prod", lines[2].GetProperty("stage").GetString());
        Assert.Equal(429, lines[3].GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Changing_one_stage_variable_restarts_only_that_stage_s_target_instance()
    {
        await using var gateway = await DeploymentGateway.StartAsync(TwoStages);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/prod/v1/events")).StatusCode);

        using var deployed = await gateway.DeployAsync(TwoStages.Replace("prod-events", "prod-events-2", StringComparison.Ordinal));
        var answer = JsonDocument.Parse(await deployed.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.Created, deployed.StatusCode);
        Assert.Equal(["events@dev", "sink"], answer.GetProperty("kept").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["events@prod"], answer.GetProperty("started").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["events@prod"], answer.GetProperty("retired").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("prod-events-2", gateway.Runtime.Current.RouteList.First(r => r.Stage == "prod").StageVariables["queue"]);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/prod/v1/events")).StatusCode);
    }

    [Fact]
    public async Task Metrics_carry_the_stage_and_ingest_stages_lists_prefix_hosts_throttle_and_variables()
    {
        const string Config = """
            stages:
              - { name: prod, variables: { color: blue }, throttle: { rate: 100, burst: 50 }, hosts: [api.example.test] }
              - { name: dev }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """;
        await using var gateway = await DeploymentGateway.StartAsync(Config);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/prod/v1/events")).StatusCode);

        var metrics = await gateway.Admin.GetStringAsync("/metrics");
        Assert.Matches("ingest_requests_total\\{[^}]*stage=\"prod\"", metrics);

        var stdout = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var stderr = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var exit = await Cli.IngestCommands.Create().Parse(["stages", "--config", gateway.ConfigFile, "--admin", gateway.Admin.BaseAddress!.ToString()])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = stdout, Error = stderr });
        Assert.True(exit == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["prod             /prod/..., hosts: api.example.test, throttle: 100/s burst 50", "color = blue", "dev              /dev/..."], lines);
    }

    private static async Task<List<JsonElement>> ReadAccessLogAsync(DeploymentGateway gateway, int count)
    {
        var lines = new List<JsonElement>();
        await Poll.UntilAsync(() =>
        {
            if (!File.Exists(gateway.AccessLogPath))
            {
                return false;
            }
            using var stream = new FileStream(gateway.AccessLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var text = new StreamReader(stream).ReadToEnd();
            lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            return lines.Count >= count;
        }, TimeSpan.FromSeconds(10));
        return lines;
    }
}
