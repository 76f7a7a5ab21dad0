using System.CommandLine;
using System.Text.Json;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest flush-cache [--stage NAME]</c>: empties the running gateway's response caches.</summary>
internal static class FlushCacheCommand
{
    public static Command Create()
    {
        var config = AdminClient.ConfigOption();
        var admin = AdminClient.AdminOption();
        var stage = new Option<string?>("--stage") { Description = "Empty only this stage's response cache (default: every stage's)." };
        var command = new Command("flush-cache", """
            Empty the running gateway's response caches, so the next requests ask the backend again.
            Calls POST /admin/flush-cache at admin.listen with admin.token from --config.
            """)
        { config, admin, stage };
        command.SetAction((result, cancellationToken) =>
        {
            var path = result.GetValue(stage) is { Length: > 0 } name ? $"/admin/flush-cache?stage={Uri.EscapeDataString(name)}" : "/admin/flush-cache";
            return AdminApiClient.RunAsync(result, config, admin, HttpMethod.Post, path, "{}", json: null, Print, cancellationToken);
        });
        return command;
    }

    private static void Print(TextWriter output, string body)
    {
        using var document = JsonDocument.Parse(body);
        var flushed = document.RootElement.GetProperty("flushed").GetInt64();
        var stage = document.RootElement.TryGetProperty("stage", out var name) ? $" of stage {name.GetString()}" : "";
        output.WriteLine($"Flushed {flushed} cache entr{(flushed == 1 ? "y" : "ies")}{stage}.");
    }
}
