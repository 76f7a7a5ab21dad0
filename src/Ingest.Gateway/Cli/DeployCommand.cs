using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest deploy</c>: validates a configuration file and makes the running gateway serve it.</summary>
internal static class DeployCommand
{
    public static Command Create()
    {
        var config = AdminClient.ConfigOption();
        config.Description = "Configuration file to deploy (its admin.listen and admin.token are used to reach the gateway unless --admin is given).";
        var admin = AdminClient.AdminOption();
        var note = new Option<string?>("--note") { Description = "Text kept with the deployment record, e.g. a change ticket." };
        var list = new Option<bool>("--list") { Description = "Only list the recorded deployments (GET /admin/deployments); deploy nothing." };
        var json = new Option<bool>("--json") { Description = "Print the admin API's JSON." };
        var command = new Command("deploy", """
            Deploy a configuration file to the running gateway: the file is validated here and by the
            gateway (every problem is printed; a bad file never replaces the running one), recorded as a
            numbered, immutable deployment under deployments.path, and switched to atomically. Targets
            whose settings did not change keep running; removed or changed ones are drained after the
            switch. Calls POST /admin/deployments. `ingest rollback --to N` returns to an earlier one.
            """)
        { config, admin, note, list, json };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(list))
            {
                return await AdminApiClient.RunAsync(result, config, admin, HttpMethod.Get, "/admin/deployments", null, json, PrintList, cancellationToken);
            }
            var path = Path.GetFullPath(result.GetValue(config)!);
            // Validated by AdminClient.Create before anything is sent.
            var body = new JsonObject
            {
                ["content"] = File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken) : null,
                ["note"] = result.GetValue(note),
                ["source"] = path,
            }.ToJsonString();
            return await AdminApiClient.RunAsync(result, config, admin, HttpMethod.Post, "/admin/deployments", body, json, PrintOutcome, cancellationToken);
        });
        return command;
    }

    /// <summary>Prints a deploy or rollback answer for people.</summary>
    internal static void PrintOutcome(TextWriter output, string body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var deployment = root.GetProperty("deployment");
        output.WriteLine($"Serving deployment {deployment.GetProperty("number").GetInt32()} (sha256 {deployment.GetProperty("sha256").GetString()![..12]}).");
        output.WriteLine($"Targets: {Names(root, "kept")} kept, {Names(root, "started")} started, {Names(root, "retired")} draining.");
        foreach (var line in root.GetProperty("restartRequired").EnumerateArray())
        {
            output.WriteLine($"Note: {line.GetString()}");
        }
    }

    private static string Names(JsonElement root, string property)
    {
        var names = root.GetProperty(property).EnumerateArray().Select(e => e.GetString()).ToList();
        return names.Count == 0 ? "0" : $"{names.Count} ({string.Join(", ", names)})";
    }

    private static void PrintList(TextWriter output, string body)
    {
        using var document = JsonDocument.Parse(body);
        var deployments = document.RootElement.GetProperty("deployments").EnumerateArray().ToList();
        if (deployments.Count == 0)
        {
            output.WriteLine("No deployments recorded yet.");
            return;
        }
        foreach (var d in deployments)
        {
            var active = d.GetProperty("active").GetBoolean() ? "*" : " ";
            output.WriteLine($"{active} {d.GetProperty("number").GetInt32(),4}  {d.GetProperty("createdAt").GetString()}  {d.GetProperty("sha256").GetString()![..12]}  {d.GetProperty("note").GetString()}");
        }
    }
}
