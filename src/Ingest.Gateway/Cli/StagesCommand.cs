using System.CommandLine;
using System.Text.Json;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest stages</c>: the stages of the running deployment.</summary>
internal static class StagesCommand
{
    public static Command Create()
    {
        var config = AdminClient.ConfigOption();
        var admin = AdminClient.AdminOption();
        var json = new Option<bool>("--json") { Description = "Print the admin API's JSON instead of a list." };
        var command = new Command("stages", """
            List the stages the running gateway serves (routes under /{stage}/...).
            Calls GET /admin/stages at admin.listen with admin.token from --config.
            """)
        { config, admin, json };
        command.SetAction((result, cancellationToken) =>
            AdminApiClient.RunAsync(result, config, admin, HttpMethod.Get, "/admin/stages", null, json, Print, cancellationToken));
        return command;
    }

    private static void Print(TextWriter output, string body)
    {
        using var document = JsonDocument.Parse(body);
        var stages = document.RootElement.GetProperty("stages").EnumerateArray().ToList();
        if (stages.Count == 0)
        {
            output.WriteLine("No stages: routes are served without a stage prefix.");
            return;
        }
        foreach (var stage in stages)
        {
            var line = $"{stage.GetProperty("name").GetString(),-16} {stage.GetProperty("prefix").GetString()}/...";
            if (stage.GetProperty("hosts").GetArrayLength() > 0)
            {
                line += $", hosts: {string.Join(", ", stage.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()))}";
            }
            if (stage.GetProperty("throttle") is { ValueKind: JsonValueKind.Object } throttle)
            {
                line += $", throttle: {throttle.GetProperty("rate").GetDouble()}/s burst {throttle.GetProperty("burst").GetDouble()}";
            }
            output.WriteLine(line);
            foreach (var variable in stage.GetProperty("variables").EnumerateObject())
            {
                output.WriteLine($"    {variable.Name} = {variable.Value.GetString()}");
            }
        }
    }
}
