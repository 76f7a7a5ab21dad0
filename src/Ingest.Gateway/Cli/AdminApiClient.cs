using System.CommandLine;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary>
/// The one admin API call of a CLI verb (<c>usage</c>, <c>stages</c>, <c>flush-cache</c>,
/// <c>test-invoke</c>): reads <c>--config</c> / <c>--admin</c>, calls the running gateway and
/// prints its answer, either as indented JSON (<c>--json</c>) or the verb's own way.
/// </summary>
internal static class AdminApiClient
{
    /// <summary>Runs the call and returns the exit code: 1 when the client or the call failed (already printed), else 0.</summary>
    /// <param name="result">Parsed command line.</param>
    /// <param name="config">The verb's <c>--config</c> option.</param>
    /// <param name="admin">The verb's <c>--admin</c> option.</param>
    /// <param name="method">HTTP method of the admin API call.</param>
    /// <param name="path">Admin API path, e.g. <c>/admin/usage</c>.</param>
    /// <param name="jsonBody">Request body, or null for none.</param>
    /// <param name="json">The verb's <c>--json</c> option, or null when it has none.</param>
    /// <param name="print">Prints a successful answer's body for people.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public static async Task<int> RunAsync(
        ParseResult result,
        Option<string> config,
        Option<string?> admin,
        HttpMethod method,
        string path,
        string? jsonBody,
        Option<bool>? json,
        Action<TextWriter, string> print,
        CancellationToken cancellationToken)
    {
        using var client = AdminClient.Create(result, config, admin);
        if (client is null)
        {
            return 1;
        }
        var answer = await client.CallAsync(result, method, path, jsonBody, cancellationToken);
        if (answer is null)
        {
            return 1;
        }
        var output = result.InvocationConfiguration.Output;
        if (json is not null && result.GetValue(json))
        {
            output.WriteLine(AdminClient.Pretty(answer.Value.Body));
            return 0;
        }
        print(output, answer.Value.Body);
        return 0;
    }
}
