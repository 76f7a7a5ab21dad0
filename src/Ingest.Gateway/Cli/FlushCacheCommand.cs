using System.CommandLine;
using System.Text.Json;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest flush-cache</c>: empties the running gateway's caches.</summary>
internal static class FlushCacheCommand
{
    public static Command Create()
    {
        var config = AdminClient.ConfigOption();
        var admin = AdminClient.AdminOption();
        var command = new Command("flush-cache", """
            Empty the running gateway's caches (authorizer results, responses), so the next requests
            ask the source again. Calls POST /admin/flush-cache at admin.listen with admin.token from --config.
            """)
        { config, admin };
        command.SetAction((result, cancellationToken) =>
            AdminApiClient.RunAsync(result, config, admin, HttpMethod.Post, "/admin/flush-cache", "{}", json: null, Print, cancellationToken));
        return command;
    }

    private static void Print(TextWriter output, string body)
    {
        using var document = JsonDocument.Parse(body);
        var flushed = document.RootElement.GetProperty("flushed").GetInt64();
        output.WriteLine($"Flushed {flushed} cache entr{(flushed == 1 ? "y" : "ies")}.");
    }
}
