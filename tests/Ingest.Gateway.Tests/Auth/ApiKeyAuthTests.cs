using System.Net;
using Ingest.Gateway.Tests.Requests;
using static Ingest.Gateway.Tests.Auth.AuthGateway;

namespace Ingest.Gateway.Tests.Auth;

public class ApiKeyAuthTests
{
    private static readonly string Config = $$"""
        apiKeys: [{ id: fleet-a, sha256: {{ApiKeyHash}} }]
        routes: [{ route: POST /v1/clicks, target: sink, auth: [apiKey] }]
        """;

    [Fact]
    public async Task Valid_key_is_accepted_and_logged_by_id_never_by_value()
    {
        await using var gateway = await StartAsync(Config);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/clicks") { Content = Json("{}") };
        request.Headers.Add("x-api-key", ApiKey);

        var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var log = await LogLineAsync(gateway, 0, $"\"{ApiKey}\"", ApiKeyHash);
        Assert.Equal("fleet-a", Field(log, "apiKeyId"));
    }

    [Fact]
    public async Task Missing_key_is_403_forbidden()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.PostAsync("/v1/clicks", Json("{}"));

        await StatusCodeTests.AssertError(response, 403, "Forbidden");
    }

    [Fact]
    public async Task Wrong_key_is_403_forbidden_and_not_logged()
    {
        await using var gateway = await StartAsync(Config);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/clicks") { Content = Json("{}") };
        request.Headers.Add("x-api-key", "guessed-key-123");

        var response = await gateway.Client.SendAsync(request);

        await StatusCodeTests.AssertError(response, 403, "Forbidden");
        var log = await LogLineAsync(gateway, 0, "guessed-key-123");
        Assert.Equal(403, log.GetProperty("status").GetInt32());
        Assert.Null(Field(log, "apiKeyId"));
    }
}
