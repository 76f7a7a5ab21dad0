using System.Net;
using System.Net.Http.Headers;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using static Ingest.Gateway.Tests.Auth.AuthGateway;

namespace Ingest.Gateway.Tests.Auth;

/// <summary>jwt authorizers end to end: JWKS on a real Kestrel, tokens signed with keys made here.</summary>
public sealed class JwtAuthTests : IAsyncLifetime
{
    private readonly TestKey _k1 = TestKey.Rsa("k1");
    private readonly TestKey _k2 = TestKey.Rsa("k2");
    private volatile string _jwks = "";
    private FakeServer _server = null!;

    public async Task InitializeAsync()
    {
        _jwks = TestKey.Jwks(_k1);
        _server = await FakeServer.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(_jwks);
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string Config => $$"""
        authorizers:
          devices-jwt: { type: jwt, issuer: "https://issuer.test/", audience: ingest, jwks: "{{_server.BaseUrl}}/jwks" }
        routes:
          - { route: POST /v1/events, target: sink, auth: [devices-jwt] }
          - { route: "ANY /orders/{proxy+}", target: sink, auth: [devices-jwt], scopes: [orders:write] }
        """;

    private static HttpRequestMessage Post(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json("{}") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return request;
    }

    [Fact]
    public async Task Valid_token_is_accepted_with_its_subject_as_principal_and_never_logged()
    {
        await using var gateway = await StartAsync(Config);
        var token = _k1.Token(DateTimeOffset.UtcNow, subject: "device-7");

        var response = await gateway.Client.SendAsync(Post("/v1/events", token));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var log = await LogLineAsync(gateway, 0, token, token.Split('.')[2]);
        Assert.Equal("device-7", Field(log, "principal"));
    }

    [Fact]
    public async Task Missing_token_is_401_unauthorized()
    {
        await using var gateway = await StartAsync(Config);

        await StatusCodeTests.AssertError(await gateway.Client.SendAsync(Post("/v1/events", null)), 401, "Unauthorized");
    }

    [Fact]
    public async Task Expired_token_is_401_unauthorized()
    {
        await using var gateway = await StartAsync(Config);
        var token = _k1.Token(DateTimeOffset.UtcNow.AddHours(-2), lifetime: TimeSpan.FromMinutes(15));

        await StatusCodeTests.AssertError(await gateway.Client.SendAsync(Post("/v1/events", token)), 401, "Unauthorized");
    }

    [Fact]
    public async Task Token_without_the_route_scope_is_403_forbidden()
    {
        await using var gateway = await StartAsync(Config);

        var denied = await gateway.Client.SendAsync(Post("/orders/1", _k1.Token(DateTimeOffset.UtcNow, scope: "orders:read")));
        var allowed = await gateway.Client.SendAsync(Post("/orders/1", _k1.Token(DateTimeOffset.UtcNow, scope: "orders:read orders:write")));

        await StatusCodeTests.AssertError(denied, 403, "Forbidden");
        Assert.Equal(HttpStatusCode.Accepted, allowed.StatusCode);
    }

    [Fact]
    public async Task Key_rotation_at_the_jwks_url_needs_no_restart()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await StartAsync(Config, new GatewayOptions { TimeProvider = time });
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/events", _k1.Token(time.GetUtcNow())))).StatusCode);

        // The issuer publishes k2 and retires k1.
        _jwks = TestKey.Jwks(_k2);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/events", _k2.Token(time.GetUtcNow())))).StatusCode);

        // k1 tokens stop working once the set is refreshed (here: at once, since k2 forced a fetch).
        await StatusCodeTests.AssertError(await gateway.Client.SendAsync(Post("/v1/events", _k1.Token(time.GetUtcNow()))), 401, "Unauthorized");
    }
}
