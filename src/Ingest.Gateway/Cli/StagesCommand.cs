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
            output.WriteLine(stage.GetProperty("name").GetString());
        }
    }
}
