using System.Net;
using System.Text.Json;
using Ingest.Core.Auth;
using Ingest.Gateway.Tests.Requests;
using Microsoft.AspNetCore.Http;
using static Ingest.Gateway.Tests.Auth.AuthGateway;

namespace Ingest.Gateway.Tests.Auth;

/// <summary>http and lambda authorizers end to end against fake authorizers on a real Kestrel.</summary>
public sealed class CustomAuthorizerTests : IAsyncLifetime
{
    private const string LambdaKeyId = "AKIDLAMBDA";
    private const string LambdaSecret = "lambda-secret-key-0123456789";

    private readonly List<JsonElement> _events = [];
    private FakeServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeServer.StartAsync(HandleAsync);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        if (context.Request.Path.StartsWithSegments("/2015-03-31/functions/check-token/invocations"))
        {
            // A Lambda stand-in that checks the gateway's SigV4 signature like AWS would.
            var verifier = new SigV4Verifier([new(LambdaKeyId, LambdaSecret)], TimeSpan.FromMinutes(5), TimeProvider.System);
            if (verifier.Verify(context.Request, body, out _) is { } rejection)
            {
                context.Response.StatusCode = 403;
                await context.Response.WriteAsync(rejection.Message);
                return;
            }
        }
        using var document = JsonDocument.Parse(body);
        var e = document.RootElement.Clone();
        lock (_events)
        {
            _events.Add(e);
        }
        var token = e.GetProperty("identitySource")[0].GetString();
        switch (token)
        {
            case "allow-token":
                await context.Response.WriteAsJsonAsync(new { isAuthorized = true, principalId = "partner-1", context = new { tenant = "t1", tier = 2 } });
                break;
            case "deny-token":
                await context.Response.WriteAsJsonAsync(new { isAuthorized = false });
                break;
            case "policy-token":
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""
                    {"principalId":"p2","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}
                    """);
                break;
            case "function-error":
                context.Response.Headers["X-Amz-Function-Error"] = "Unhandled";
                await context.Response.WriteAsJsonAsync(new { errorMessage = "boom" });
                break;
            case "slow-token":
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                break;
            default:
                context.Response.StatusCode = 500;
                break;
        }
    }

    private int EventCount
    {
        get
        {
            lock (_events)
            {
                return _events.Count;
            }
        }
    }

    private string Config => $$"""
        aws: { region: us-east-1, accessKeyId: {{LambdaKeyId}}, secretAccessKey: "{{LambdaSecret}}", endpoints: { lambda: "{{_server.BaseUrl}}" } }
        authorizers:
          partner-check: { type: http, url: "{{_server.BaseUrl}}/authorize", cacheTtl: 300s, timeout: 500ms }
          uncached: { type: http, url: "{{_server.BaseUrl}}/authorize", identitySource: "header:x-token", cacheTtl: 0s }
          fn-check: { type: lambda, function: check-token, identitySource: "header:x-token", cacheTtl: 0s }
        routes:
          - { route: POST /v1/partner, target: sink, auth: [partner-check] }
          - { route: POST /v1/uncached, target: sink, auth: [uncached] }
          - { route: POST /v1/lambda, target: sink, auth: [fn-check] }
        """;

    private static HttpRequestMessage Post(string path, string? token, string header = "Authorization")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json("{}") };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation(header, token);
        }
        return request;
    }

    [Fact]
    public async Task Allow_passes_with_the_principal_logged_and_the_event_describing_the_request()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.SendAsync(Post("/v1/partner", "allow-token"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var log = await LogLineAsync(gateway, 0, "allow-token");
        Assert.Equal("partner-1", Field(log, "principal"));
        var e = _events.Single();
        Assert.Equal("REQUEST", e.GetProperty("type").GetString());
        Assert.Equal("POST /v1/partner", e.GetProperty("routeKey").GetString());
        Assert.Equal("/v1/partner", e.GetProperty("rawPath").GetString());
        Assert.Equal("allow-token", e.GetProperty("headers").GetProperty("authorization").GetString());
        Assert.Equal(response.Headers.GetValues("x-request-id").Single(), e.GetProperty("requestContext").GetProperty("requestId").GetString());
        Assert.Equal("127.0.0.1", e.GetProperty("requestContext").GetProperty("sourceIp").GetString());
    }

    [Fact]
    public async Task Results_are_cached_by_identity_for_the_ttl()
    {
        await using var gateway = await StartAsync(Config);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/partner", "allow-token"))).StatusCode);
            await StatusCodeTests.AssertError(await gateway.Client.SendAsync(Post("/v1/partner", "deny-token")), 403, "User is not authorized to access this resource with an explicit deny");
        }

        Assert.Equal(2, EventCount);
    }

    [Fact]
    public async Task Policy_document_answers_are_understood()
    {
        await using var gateway = await StartAsync(Config);

        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(Post("/v1/uncached", "policy-token", "x-token"))).StatusCode);
    }

    [Fact]
    public async Task Deny_is_403_explicit_deny()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.SendAsync(Post("/v1/uncached", "deny-token", "x-token"));

        await StatusCodeTests.AssertError(response, 403, "User is not authorized to access this resource with an explicit deny");
    }

    [Fact]
    public async Task Missing_identity_is_401_without_calling_the_authorizer()
    {
        await using var gateway = await StartAsync(Config);

        await StatusCodeTests.AssertError(await gateway.Client.SendAsync(Post("/v1/partner", null)), 401, "Unauthorized");
        Assert.Equal(0, EventCount);
    }

    [Fact]
    public async Task Authorizer_error_is_500_internal_server_error()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.SendAsync(Post("/v1/uncached", "unknown-token", "x-token"));

        await StatusCodeTests.AssertError(response, 500, "Internal Server Error");
        var log = await LogLineAsync(gateway, 0, "unknown-token");
        Assert.Equal(500, log.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Authorizer_timeout_is_500_internal_server_error()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.SendAsync(Post("/v1/partner", "slow-token"));

        await StatusCodeTests.AssertError(response, 500, "Internal Server Error");
    }

    [Fact]
    public async Task Authorizer_unreachable_is_500_internal_server_error()
    {
        await using var gateway = await StartAsync("""
            authorizers:
              gone: { type: http, url: "http://127.0.0.1:9/authorize" }
            routes: [{ route: POST /v1/partner, target: sink, auth: [gone] }]
            """);

        await StatusCodeTests.AssertError(await gateway.Client.SendAsync(Post("/v1/partner", "allow-token")), 500, "Internal Server Error");
    }

    [Fact]
    public async Task Lambda_authorizer_is_invoked_signed_and_its_answer_applied()
    {
        await using var gateway = await StartAsync(Config);

        var allowed = await gateway.Client.SendAsync(Post("/v1/lambda", "allow-token", "x-token"));
        var denied = await gateway.Client.SendAsync(Post("/v1/lambda", "deny-token", "x-token"));
        var failed = await gateway.Client.SendAsync(Post("/v1/lambda", "function-error", "x-token"));

        Assert.Equal(HttpStatusCode.Accepted, allowed.StatusCode);
        await StatusCodeTests.AssertError(denied, 403, "User is not authorized to access this resource with an explicit deny");
        await StatusCodeTests.AssertError(failed, 500, "Internal Server Error");
        Assert.Equal(3, EventCount);
    }
}
