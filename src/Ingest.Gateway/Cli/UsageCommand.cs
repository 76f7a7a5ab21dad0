using System.CommandLine;
using System.Text.Json;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest usage</c>: requests, events and quota left per API key, from a running gateway.</summary>
internal static class UsageCommand
{
    public static Command Create()
    {
        var config = AdminClient.ConfigOption();
        var admin = AdminClient.AdminOption();
        var json = new Option<bool>("--json") { Description = "Print the admin API's JSON instead of a table." };
        var command = new Command("usage", """
            Show requests, events and quota left per API key since the gateway started.
            Asks the running gateway's admin API (GET /admin/usage) at admin.listen with admin.token
            from --config. Requests without an API key are shown as (anonymous).
            """)
        { config, admin, json };
        command.SetAction((result, cancellationToken) =>
            AdminApiClient.RunAsync(result, config, admin, HttpMethod.Get, "/admin/usage", null, json, Print, cancellationToken));
        return command;
    }

    private static void Print(TextWriter output, string body)
    {
        using var document = JsonDocument.Parse(body);
        var rows = document.RootElement.GetProperty("usage").EnumerateArray().ToList();
        if (rows.Count == 0)
        {
            output.WriteLine("No API keys configured and no requests yet.");
            return;
        }
        output.WriteLine($"{"API KEY",-24} {"REQUESTS",12} {"EVENTS",12} {"QUOTA LEFT",12}");
        foreach (var row in rows)
        {
            var key = row.GetProperty("apiKeyId") is { ValueKind: JsonValueKind.String } id ? id.GetString() : "(anonymous)";
            var quota = row.GetProperty("quotaRemaining") is { ValueKind: JsonValueKind.Number } left ? left.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
            output.WriteLine($"{key,-24} {row.GetProperty("requests").GetInt64(),12} {row.GetProperty("events").GetInt64(),12} {quota,12}");
        }
    }
}
