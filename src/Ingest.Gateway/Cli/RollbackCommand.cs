using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest rollback --to N</c>: serves a recorded deployment again.</summary>
internal static class RollbackCommand
{
    public static Command Create()
    {
        var config = AdminClient.ConfigOption();
        var admin = AdminClient.AdminOption();
        var to = new Option<int>("--to")
        {
            Description = "Number of the deployment to serve again (`ingest deploy --list` shows them).",
            Required = true,
        };
        var stage = new Option<string?>("--stage")
        {
            Description = "Stage the rollback is meant for; it must exist in deployment N. The whole gateway (every stage) switches to N.",
        };
        var json = new Option<bool>("--json") { Description = "Print the admin API's JSON." };
        var command = new Command("rollback", """
            Serve an earlier recorded deployment again, atomically, with the same checks as a deploy
            (a deployment that no longer validates, e.g. because a secret it reads is gone, is refused
            and the running one keeps serving). A rollback switches the whole gateway: every stage
            serves deployment N; --stage only checks that N has that stage.
            Calls POST /admin/deployments/N/activate.
            """)
        { config, admin, to, stage, json };
        command.Validators.Add(result =>
        {
            if (result.GetValue(to) < 1)
            {
                result.AddError("--to: deployment numbers start at 1.");
            }
        });
        command.SetAction((result, cancellationToken) =>
        {
            var body = result.GetValue(stage) is { } name ? new JsonObject { ["stage"] = name }.ToJsonString() : null;
            var path = $"/admin/deployments/{result.GetValue(to).ToString(CultureInfo.InvariantCulture)}/activate";
            return AdminApiClient.RunAsync(result, config, admin, HttpMethod.Post, path, body, json, DeployCommand.PrintOutcome, cancellationToken);
        });
        return command;
    }
}
