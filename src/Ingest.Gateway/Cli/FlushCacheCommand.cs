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
        command.SetAction(async (result, cancellationToken) =>
        {
            using var client = AdminClient.Create(result, config, admin);
            if (client is null)
            {
                return 1;
            }
            var answer = await client.CallAsync(result, HttpMethod.Post, "/admin/flush-cache", "{}", cancellationToken);
            if (answer is null)
            {
                return 1;
            }
            using var document = JsonDocument.Parse(answer.Value.Body);
            var flushed = document.RootElement.GetProperty("flushed").GetInt64();
            result.InvocationConfiguration.Output.WriteLine($"Flushed {flushed} cache entr{(flushed == 1 ? "y" : "ies")}.");
            return 0;
        });
        return command;
    }
}
