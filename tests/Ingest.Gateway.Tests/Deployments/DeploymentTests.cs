using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ingest.Gateway.Cli;
using Ingest.Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ingest.Gateway.Tests.Deployments;

/// <summary>Deploys under load, refused deploys, rollback, watch.</summary>
public class DeploymentTests(ITestOutputHelper output)
{
    /// <summary>One route to target a.</summary>
    private const string ConfigA = """
        targets:
          a: { type: recording, batch: { linger: 5ms } }
        routes:
          - { route: POST /v1/events, target: a, auth: none, public: true, throttle: { rate: 100000, burst: 50000 } }
        """;

    /// <summary>The route moves to a new target b, another route appears, throttle values change; a is unchanged.</summary>
    private const string ConfigB = """
        targets:
          a: { type: recording, batch: { linger: 5ms } }
          b: { type: recording, batch: { linger: 2ms, maxRecords: 5 } }
        routes:
          - { route: POST /v1/events, target: b, auth: none, public: true, throttle: { rate: 200000, burst: 60000 } }
          - { route: POST /v1/other, target: a, auth: none, public: true }
        """;

    /// <summary>A and B with blackhole targets, for the CLI, which knows only the built-in target kinds.</summary>
    private static readonly string BlackholeA = ConfigA.Replace("type: recording", "type: blackhole", StringComparison.Ordinal);

    private static readonly string BlackholeB = ConfigB.Replace("type: recording", "type: blackhole", StringComparison.Ordinal);

    /// <summary>
    /// 60 s of load at a constant, moderate 2000 requests/s (the 2-core CI machine runs other test
    /// projects at the same time) with 12 deploys alternating A and B, 4.6 s
    /// apart: every request is answered 202 and every acknowledged event is delivered, including
    /// those of requests still reading their body on the old configuration when a deploy removes
    /// target b. Bounded: 120,000 requests, ~70 s in all (90 s at most with the delivery wait).
    /// </summary>
    [Fact]
    [Trait("Category", "Load")]
    public async Task Twelve_deploys_during_a_minute_of_load_lose_and_refuse_nothing()
    {
        await using var gateway = await DeploymentGateway.StartAsync(ConfigA);
        var poster = new PacedPoster();
        var duration = TimeSpan.FromSeconds(60);
        // Each body pauses 10 ms halfway, so about 20 requests are always inside the gateway when it switches.
        var load = poster.RunAsync(gateway.Client.BaseAddress!, "/v1/events", 2000, duration, workers: 64, bodyPause: TimeSpan.FromMilliseconds(10));

        var clock = Stopwatch.StartNew();
        var answers = new List<JsonElement>();
        for (var i = 1; i <= 12; i++)
        {
            var due = TimeSpan.FromSeconds(4.6 * i) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                // Deploys on a schedule across the run, not a wait for a condition.
                await Task.Delay(due);
            }
            using var response = await gateway.DeployAsync(i % 2 == 1 ? ConfigB : ConfigA, $"deploy {i}");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Created, body);
            answers.Add(JsonDocument.Parse(body).RootElement);
        }
        await load;
        output.WriteLine($"sent {poster.Sent}, accepted {poster.Accepted.Count}, failed {poster.Failed}, elapsed {clock.Elapsed.TotalSeconds:0.0}s");

        Assert.True(poster.Failed == 0, string.Join(Environment.NewLine, poster.Failures));
        Assert.Equal((int)(2000 * duration.TotalSeconds), poster.Accepted.Count);
        // A -> B keeps a and starts b; B -> A retires b (drained after the switch).
        Assert.Equal(["a"], answers[0].GetProperty("kept").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["b"], answers[0].GetProperty("started").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["b"], answers[1].GetProperty("retired").EnumerateArray().Select(e => e.GetString()));

        await Poll.UntilAsync(() => poster.Accepted.Keys.All(gateway.Backend.Delivered.ContainsKey), TimeSpan.FromSeconds(30));
        var deployments = await gateway.DeploymentsAsync();
        Assert.Equal(13, deployments.GetProperty("deployments").GetArrayLength());
        Assert.Equal(13, deployments.GetProperty("active").GetInt32());
    }

    [Fact]
    public async Task A_bad_deploy_is_refused_with_every_problem_and_the_old_configuration_keeps_serving()
    {
        await using var gateway = await DeploymentGateway.StartAsync(ConfigA);

        using var invalid = await gateway.DeployAsync("""
            targets:
              a: { type: recording }
            routes:
              - { route: POST /v1/events, target: missing, auth: none, public: true }
              - { route: POST /v1/other, target: a, auth: none }
            """);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var answer = JsonDocument.Parse(await invalid.Content.ReadAsStringAsync()).RootElement;
        var errors = answer.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(errors, e => e.Contains("routes[0]", StringComparison.Ordinal) && e.Contains("'missing'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("routes[1]", StringComparison.Ordinal));
        Assert.StartsWith("Not deployed", answer.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var notYaml = await gateway.DeployAsync("routes: [ {");
        Assert.Equal(HttpStatusCode.BadRequest, notYaml.StatusCode);

        using var badStage = await gateway.DeployAsync("stages: [{ name: \"pr od\" }]\n" + ConfigA);
        Assert.Equal(HttpStatusCode.BadRequest, badStage.StatusCode);
        Assert.Contains("stages[0]", await badStage.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/v1/events")).StatusCode);
        var deployments = await gateway.DeploymentsAsync();
        Assert.Equal(1, deployments.GetProperty("deployments").GetArrayLength());
        Assert.Equal(1, deployments.GetProperty("active").GetInt32());
    }

    [Fact]
    public async Task Deploy_and_rollback_verbs_record_numbered_deployments_and_return_to_one()
    {
        await using var gateway = await DeploymentGateway.StartAsync(BlackholeA);
        var fileB = Path.Combine(gateway.Folder, "b.yaml");
        await File.WriteAllTextAsync(fileB, DeploymentGateway.File(gateway.Folder, BlackholeB));
        var admin = gateway.Admin.BaseAddress!.ToString();

        var deploy = await RunAsync("deploy", "--config", fileB, "--admin", admin, "--note", "add /v1/other");
        Assert.True(deploy.Exit == 0, deploy.Error);
        Assert.Contains("Serving deployment 2", deploy.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/v1/other")).StatusCode);

        var list = await RunAsync("deploy", "--list", "--config", fileB, "--admin", admin);
        Assert.Matches(@"\*\s+2\s+\S+\s+[0-9a-f]{12}\s+add /v1/other", list.Output);

        var rollback = await RunAsync("rollback", "--to", "1", "--config", fileB, "--admin", admin);
        Assert.True(rollback.Exit == 0, rollback.Error);
        Assert.Contains("Serving deployment 1", rollback.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.PostAsync("/v1/other")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/v1/events")).StatusCode);
        var deployments = await gateway.DeploymentsAsync();
        Assert.Equal(1, deployments.GetProperty("active").GetInt32());
        Assert.Equal(2, deployments.GetProperty("deployments").GetArrayLength());

        // The record on disk is the file as deployed, with its hash.
        var record = deployments.GetProperty("deployments")[1];
        var content = await File.ReadAllTextAsync(Path.Combine(gateway.Folder, "deployments", "000002", "ingest.yaml"));
        Assert.Equal(await File.ReadAllTextAsync(fileB), content);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(content))), record.GetProperty("sha256").GetString());

        var unknown = await RunAsync("rollback", "--to", "7", "--config", fileB, "--admin", admin);
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("No deployment 7", unknown.Error, StringComparison.Ordinal);
        var noSuchStage = await RunAsync("rollback", "--to", "2", "--stage", "prod", "--config", fileB, "--admin", admin);
        Assert.Equal(1, noSuchStage.Exit);
        Assert.Contains("stage 'prod' is not in that deployment", noSuchStage.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await gateway.DeploymentsAsync()).GetProperty("active").GetInt32());
    }

    [Fact]
    public async Task Watch_deploys_the_file_when_it_changes_and_skips_a_bad_version()
    {
        await using var gateway = await DeploymentGateway.StartAsync("watch: true\n" + ConfigA);

        await File.WriteAllTextAsync(gateway.ConfigFile, DeploymentGateway.File(gateway.Folder, "watch: true\n" + ConfigB));
        await Poll.UntilAsync(() => gateway.Runtime.Current.RouteList.Any(r => r.RouteKey == "POST /v1/other"), TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/v1/other")).StatusCode);

        // A bad version is refused; the next good one is deployed, and only good ones are recorded.
        await File.WriteAllTextAsync(gateway.ConfigFile, DeploymentGateway.File(gateway.Folder, "watch: true\nroutes: [{ route: POST /v1/x, target: nope }]"));
        await WaitForWatcherAsync(gateway);
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostAsync("/v1/other")).StatusCode);
        await File.WriteAllTextAsync(gateway.ConfigFile, DeploymentGateway.File(gateway.Folder, "watch: true\n" + ConfigA));
        await Poll.UntilAsync(() => !gateway.Runtime.Current.RouteList.Any(r => r.RouteKey == "POST /v1/other"), TimeSpan.FromSeconds(15));

        var deployments = (await gateway.DeploymentsAsync()).GetProperty("deployments");
        Assert.Equal(3, deployments.GetArrayLength());
        Assert.Equal("watch: file changed", deployments[2].GetProperty("note").GetString());
    }

    [Fact]
    public async Task A_restart_with_the_same_file_adds_no_record_and_serve_deployment_loads_latest_active_or_a_number()
    {
        var folder = Directory.CreateTempSubdirectory("ingest-restart-").FullName;
        try
        {
            await using (var first = await DeploymentGateway.StartAsync(BlackholeA, folder))
            {
                using var deployed = await first.DeployAsync(BlackholeB);
                Assert.Equal(HttpStatusCode.Created, deployed.StatusCode);
            }
            // The file on disk is still A: recorded as 1, so serving it again reuses that record.
            await using (var second = await DeploymentGateway.StartAsync(BlackholeA, folder))
            {
                var deployments = await second.DeploymentsAsync();
                Assert.Equal(2, deployments.GetProperty("deployments").GetArrayLength());
                Assert.Equal(1, deployments.GetProperty("active").GetInt32());
            }

            var config = Ingest.Core.Configuration.ConfigLoader.Load(DeploymentGateway.File(folder, BlackholeA));
            var options = new Ingest.Gateway.Hosting.GatewayOptions { ConfigFile = Path.Combine(folder, "ingest.yaml") };
            var errors = new StringWriter(CultureInfo.InvariantCulture);
            var latest = Ingest.Gateway.Deployments.RecordedDeployment.Load(config, "latest", options, errors);
            Assert.NotNull(latest);
            Assert.Equal(2, options.StartedFromDeployment);
            Assert.Contains(latest.Routes, r => r.Route == "POST /v1/other");
            var active = Ingest.Gateway.Deployments.RecordedDeployment.Load(config, "active", options, errors);
            Assert.NotNull(active);
            Assert.Equal(1, options.StartedFromDeployment);
            Assert.DoesNotContain(active.Routes, r => r.Route == "POST /v1/other");
            Assert.NotNull(Ingest.Gateway.Deployments.RecordedDeployment.Load(config, "2", options, errors));
            Assert.Null(Ingest.Gateway.Deployments.RecordedDeployment.Load(config, "9", options, errors));
            Assert.Null(Ingest.Gateway.Deployments.RecordedDeployment.Load(config, "newest", options, errors));
            Assert.Contains("--deployment 9: no such deployment", errors.ToString(), StringComparison.Ordinal);
            Assert.Contains("--deployment: 'newest' must be latest, active or a deployment number.", errors.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Waits until the watcher has handled the last change (its deploy attempt finished).</summary>
    private static async Task WaitForWatcherAsync(DeploymentGateway gateway)
    {
        var service = (Ingest.Gateway.Deployments.DeploymentService)Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService(gateway.App.Services, typeof(Ingest.Gateway.Deployments.DeploymentService));
        var before = service.Watcher!.Deploying;
        await Poll.UntilAsync(() => !ReferenceEquals(before, service.Watcher.Deploying), TimeSpan.FromSeconds(15));
        await service.Watcher.Deploying.WaitAsync(TimeSpan.FromSeconds(15));
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var exit = await IngestCommands.Create().Parse(args).InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
