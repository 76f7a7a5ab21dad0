using System.Text;
using System.Text.Json;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Auth;

/// <summary>Helpers shared by the authentication functional tests.</summary>
internal static class AuthGateway
{
    public const string ApiKey = "secret";
    public const string ApiKeyHash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    public static Task<TestGateway> StartAsync(string yaml, GatewayOptions? options = null) =>
        TestGateway.StartAsync("targets: { sink: { type: blackhole } }\n" + yaml, options);

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>The single access-log line, parsed, after checking it never contains <paramref name="secrets"/>.</summary>
    public static async Task<JsonElement> LogLineAsync(TestGateway gateway, int index, params string[] secrets)
    {
        var lines = await gateway.AccessLogLinesAsync(index + 1);
        var line = lines[index];
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
        }
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    public static string? Field(JsonElement log, string name) =>
        log.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
