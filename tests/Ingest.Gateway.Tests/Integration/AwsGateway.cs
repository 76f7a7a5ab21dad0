using System.Text;
using System.Text.Json;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Integration;

/// <summary>
/// A real gateway in front of AWS endpoints (TestSupport's fake servers or the shared stand-ins),
/// and what the tests of such routes read back: the <c>message</c> of an error answer and the
/// latest access-log line.
/// </summary>
internal static class AwsGateway
{
    /// <summary>
    /// Starts a gateway whose <c>aws:</c> block signs with <paramref name="accessKeyId"/> and
    /// <paramref name="secretAccessKey"/> in <paramref name="region"/> and sends each service to its
    /// endpoint; <paramref name="yaml"/> holds the rest (targets, routes).
    /// </summary>
    public static Task<TestGateway> StartAsync(
        string compat,
        string region,
        string accessKeyId,
        string secretAccessKey,
        IEnumerable<(string Service, string Url)> endpoints,
        string yaml,
        GatewayOptions? options = null) =>
        TestGateway.StartAsync($$"""
            compat: {{compat}}
            aws:
              region: {{region}}
              accessKeyId: {{accessKeyId}}
              secretAccessKey: {{secretAccessKey}}
              endpoints: { {{string.Join(", ", endpoints.Select(e => $"{e.Service}: \"{e.Url}\""))}} }
            """ + "\n" + yaml,
            options);

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The <c>message</c> of a JSON error answer.</summary>
    public static async Task<string?> MessageAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("message").GetString();
    }

    /// <summary>The latest access-log line, waiting for the first one.</summary>
    public static async Task<JsonElement> LastLogLineAsync(TestGateway gateway)
    {
        var lines = await gateway.AccessLogLinesAsync(1);
        using var document = JsonDocument.Parse(lines[^1]);
        return document.RootElement.Clone();
    }
}
