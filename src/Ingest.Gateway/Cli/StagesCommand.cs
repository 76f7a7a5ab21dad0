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
        command.SetAction(async (result, cancellationToken) =>
        {
            using var client = AdminClient.Create(result, config, admin);
            if (client is null)
            {
                return 1;
            }
            var answer = await client.CallAsync(result, HttpMethod.Get, "/admin/stages", null, cancellationToken);
            if (answer is null)
            {
                return 1;
            }
            var output = result.InvocationConfiguration.Output;
            if (result.GetValue(json))
            {
                output.WriteLine(AdminClient.Pretty(answer.Value.Body));
                return 0;
            }
            using var document = JsonDocument.Parse(answer.Value.Body);
            var stages = document.RootElement.GetProperty("stages").EnumerateArray().ToList();
            if (stages.Count == 0)
            {
                output.WriteLine("No stages: routes are served without a stage prefix.");
                return 0;
            }
            foreach (var stage in stages)
            {
                output.WriteLine(stage.GetProperty("name").GetString());
            }
            return 0;
        });
        return command;
    }
}
