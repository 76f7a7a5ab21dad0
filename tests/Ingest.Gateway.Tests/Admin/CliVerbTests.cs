using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ingest.Gateway.Cli;

namespace Ingest.Gateway.Tests.Admin;

/// <summary>The CLI verbs of the operations console against a running gateway and an access-log file.</summary>
public class CliVerbTests
{
    private const string Routes = """
        targets:
          sink: { type: blackhole }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
        """;

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = new StringWriter(CultureInfo.InvariantCulture);
        var exit = await IngestCommands.Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>A configuration file pointing at the running gateway's admin port.</summary>
    private static string ConfigFileFor(ConsoleGateway gateway, string? token = ConsoleGateway.Token)
    {
        var path = Path.Combine(Path.GetTempPath(), $"ingest-cli-{Guid.NewGuid():N}.yaml");
        var tokenYaml = token is null ? "" : $", token: \"{token}\"";
        File.WriteAllText(path, $$"""
            admin: { listen: "{{gateway.AdminBase.Authority}}"{{tokenYaml}} }
            accessLog: { path: "{{gateway.AccessLogPath}}" }
            """ + "\n" + Routes);
        return path;
    }

    [Fact]
    public async Task Usage_stages_flush_cache_and_test_invoke_talk_to_the_admin_api()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Routes);
        await gateway.PostJsonAsync("/v1/events", "{}");
        await gateway.PostJsonAsync("/v1/events", "{}");
        var config = ConfigFileFor(gateway);
        try
        {
            var usage = await RunAsync("usage", "--config", config);
            Assert.True(usage.Exit == 0, usage.Error);
            Assert.Matches(@"\(anonymous\)\s+2\s+2\s+-", usage.Output);

            var usageJson = await RunAsync("usage", "--config", config, "--json");
            Assert.Equal(2, JsonDocument.Parse(usageJson.Output).RootElement.GetProperty("usage")[0].GetProperty("requests").GetInt32());

            var stages = await RunAsync("stages", "--config", config);
            Assert.Equal(0, stages.Exit);
            Assert.Contains("No stages", stages.Output, StringComparison.Ordinal);

            var flush = await RunAsync("flush-cache", "--config", config);
            Assert.Equal(0, flush.Exit);
            Assert.Contains("Flushed 0 cache entries.", flush.Output, StringComparison.Ordinal);

            var invoke = await RunAsync("test-invoke", "--config", config, "--method", "POST", "--path", "/v1/events", "--body", """{"temp":21}""");
            Assert.True(invoke.Exit == 0, invoke.Error);
            Assert.Contains("Status: 202", invoke.Output, StringComparison.Ordinal);
            Assert.Contains("\"body\": \"{\\\"temp\\\":21}\"", invoke.Output, StringComparison.Ordinal);
            Assert.Contains("Dry run: not sent to target sink", invoke.Output, StringComparison.Ordinal);

            var refused = await RunAsync("test-invoke", "--config", config, "--path", "/v1/events", "--body", "x", "--content-type", "text/plain", "--json");
            Assert.Equal(0, refused.Exit);
            Assert.Equal(415, JsonDocument.Parse(refused.Output).RootElement.GetProperty("status").GetInt32());
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Verbs_explain_a_missing_token_a_wrong_token_and_an_unreachable_gateway()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Routes);
        var noToken = ConfigFileFor(gateway, token: null);
        var wrongToken = ConfigFileFor(gateway, token: "not-the-token");
        try
        {
            var missing = await RunAsync("usage", "--config", noToken);
            Assert.Equal(1, missing.Exit);
            Assert.Contains("admin.token is not set", missing.Error, StringComparison.Ordinal);

            var wrong = await RunAsync("flush-cache", "--config", wrongToken);
            Assert.Equal(1, wrong.Exit);
            Assert.Contains("401 Unauthorized", wrong.Error, StringComparison.Ordinal);

            var unreachable = await RunAsync("stages", "--config", wrongToken, "--admin", "http://127.0.0.1:1");
            Assert.Equal(1, unreachable.Exit);
            Assert.Contains("Cannot reach the admin API at http://127.0.0.1:1/", unreachable.Error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(noToken);
            File.Delete(wrongToken);
        }
    }

    [Fact]
    public async Task Logs_selects_the_newest_matching_lines_of_the_file_and_its_rotated_predecessor()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ingest-logs-{Guid.NewGuid():N}.log");
        var now = DateTimeOffset.UtcNow;
        string Line(TimeSpan age, int status, string id) =>
            $$"""{"requestId":"{{id}}","requestTimeEpoch":{{(now - age).ToUnixTimeMilliseconds()}},"httpMethod":"POST","path":"/v1/events","routeKey":"POST /v1/events","status":{{status}},"latency":1.5,"events":0,"integrationError":"boom"}""";
        await File.WriteAllLinesAsync(path + ".1", [Line(TimeSpan.FromHours(2), 503, "old-503"), Line(TimeSpan.FromMinutes(20), 502, "r-502")]);
        await File.WriteAllLinesAsync(path, [Line(TimeSpan.FromMinutes(10), 200, "ok"), "{not json", Line(TimeSpan.FromMinutes(5), 500, "r-500"), Line(TimeSpan.FromMinutes(1), 404, "r-404"), Line(TimeSpan.FromSeconds(5), 503, "r-503")]);
        try
        {
            var fiveXx = await RunAsync("logs", "--file", path, "--since", "30m", "--status", "5xx", "--limit", "2");
            Assert.True(fiveXx.Exit == 0, fiveXx.Error);
            var rows = fiveXx.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, rows.Length);
            Assert.StartsWith("TIME (UTC)", rows[0], StringComparison.Ordinal);
            Assert.Contains("r-500", rows[1], StringComparison.Ordinal);
            Assert.Contains("r-503", rows[2], StringComparison.Ordinal);
            Assert.Contains("boom", rows[2], StringComparison.Ordinal);

            var all5xx = await RunAsync("logs", "--file", path, "--since", "30m", "--status", "5xx", "--json");
            Assert.Equal(["r-502", "r-500", "r-503"], all5xx.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("requestId").GetString()));

            var codes = await RunAsync("logs", "--file", path, "--status", "404,200", "--json");
            Assert.Equal(["ok", "r-404"], codes.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("requestId").GetString()));

            var none = await RunAsync("logs", "--file", path, "--since", "1s", "--status", "4xx");
            Assert.Contains("No matching requests.", none.Output, StringComparison.Ordinal);

            var badSince = await RunAsync("logs", "--file", path, "--since", "soon");
            Assert.Equal(1, badSince.Exit);
            Assert.Contains("--since: 'soon' is not a duration", badSince.Error, StringComparison.Ordinal);

            var missing = await RunAsync("logs", "--file", path + ".missing");
            Assert.Equal(1, missing.Exit);
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".1");
        }
    }

    [Fact]
    public async Task Logs_reads_the_access_log_of_a_running_gateway_through_its_config()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Routes);
        await gateway.PostJsonAsync("/v1/events", "{}");
        await gateway.PostJsonAsync("/nowhere", "{}");
        await gateway.AccessLogLinesAsync(2);
        var config = ConfigFileFor(gateway);
        try
        {
            var result = await RunAsync("logs", "--config", config, "--status", "404", "--json");
            Assert.True(result.Exit == 0, result.Error);
            var line = Assert.Single(result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal("/nowhere", JsonDocument.Parse(line).RootElement.GetProperty("path").GetString());
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Theory]
    [InlineData("usage")]
    [InlineData("test-invoke")]
    [InlineData("flush-cache")]
    [InlineData("stages")]
    [InlineData("logs")]
    public async Task Every_verb_has_help_and_takes_config(string verb)
    {
        var help = await RunAsync(verb, "--help");

        Assert.Equal(0, help.Exit);
        Assert.Contains("--config", help.Output, StringComparison.Ordinal);
        Assert.Contains("Description:", help.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("2h", 7200)]
    [InlineData("1d", 86400)]
    [InlineData("250ms", 0.25)]
    public void Durations_parse(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), LogsCommand.ParseDuration(text));
}
