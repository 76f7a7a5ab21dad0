using System.Text;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;

namespace Ingest.Gateway.Tests.Cors;

/// <summary>CORS against a real Kestrel: preflights, headers on accepted and rejected responses.</summary>
public class CorsTests
{
    private const string App = "https://app.example";

    private const string Config = """
        targets: { sink: { type: blackhole } }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true, cors: { origins: ["https://app.example"], methods: [POST], headers: [content-type, x-api-key], maxAge: 600, exposeHeaders: [x-request-id] } }
          - { route: PUT /v1/events, target: sink, auth: none, public: true }
          - { route: POST /v1/private, target: sink, auth: none, public: true, cors: { origins: ["https://app.example"], methods: [POST], headers: [content-type], credentials: true } }
          - { route: POST /v1/plain, target: sink, auth: none, public: true }
          - { route: "ANY /v1/any/{proxy+}", target: sink, auth: none, public: true, resourcePolicy: { deny: [127.0.0.1] }, cors: { origins: ["*"], headers: ["*"] } }
        """;

    private static HttpRequestMessage Preflight(string path, string origin, string method = "POST")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", "content-type");
        return request;
    }

    private static HttpRequestMessage Post(string path, string origin, string body = "{}", string type = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, type) };
        request.Headers.Add("Origin", origin);
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    private static bool HasCorsHeaders(HttpResponseMessage response) =>
        response.Headers.Any(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));

    [Fact]
    public async Task Preflight_from_an_allowed_origin_gets_204_with_methods_headers_and_max_age()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var response = await gateway.Client.SendAsync(Preflight("/v1/events", App));

        Assert.Equal(204, (int)response.StatusCode);
        Assert.Equal(App, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("POST", Header(response, "Access-Control-Allow-Methods"));
        Assert.Equal("content-type, x-api-key", Header(response, "Access-Control-Allow-Headers"));
        Assert.Equal("600", Header(response, "Access-Control-Max-Age"));
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
        Assert.Contains("Origin", response.Headers.Vary);
        Assert.NotNull(Header(response, "x-request-id"));
    }

    [Fact]
    public async Task Preflight_from_another_origin_gets_no_cors_headers()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var response = await gateway.Client.SendAsync(Preflight("/v1/events", "https://evil.example"));

        Assert.Equal(204, (int)response.StatusCode);
        Assert.False(HasCorsHeaders(response));
    }

    [Fact]
    public async Task Accepted_and_rejected_responses_carry_the_cors_headers()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var accepted = await gateway.Client.SendAsync(Post("/v1/events", App));
        var rejected = await gateway.Client.SendAsync(Post("/v1/events", App, "x", "text/plain"));
        var otherOrigin = await gateway.Client.SendAsync(Post("/v1/events", "https://evil.example"));

        Assert.Equal(202, (int)accepted.StatusCode);
        Assert.Equal(App, Header(accepted, "Access-Control-Allow-Origin"));
        Assert.Equal("x-request-id", Header(accepted, "Access-Control-Expose-Headers"));
        await StatusCodeTests.AssertError(rejected, 415, "Unsupported Media Type");
        Assert.Equal(App, Header(rejected, "Access-Control-Allow-Origin"));
        Assert.Equal(202, (int)otherOrigin.StatusCode);
        Assert.False(HasCorsHeaders(otherOrigin));
    }

    [Fact]
    public async Task Credentials_echo_the_origin_and_say_true()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var preflight = await gateway.Client.SendAsync(Preflight("/v1/private", App));
        var actual = await gateway.Client.SendAsync(Post("/v1/private", App));

        Assert.Equal(App, Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(preflight, "Access-Control-Allow-Credentials"));
        Assert.Null(Header(preflight, "Access-Control-Max-Age"));
        Assert.Equal(App, Header(actual, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(actual, "Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Preflight_is_for_the_requested_method_on_the_path()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        // PUT /v1/events exists but has no CORS settings: no preflight answer, the usual 405.
        var put = await gateway.Client.SendAsync(Preflight("/v1/events", App, "PUT"));

        await StatusCodeTests.AssertError(put, 405, "Method Not Allowed");
        Assert.False(HasCorsHeaders(put));
    }

    [Fact]
    public async Task Paths_without_cors_answer_options_as_before()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var plain = await gateway.Client.SendAsync(Preflight("/v1/plain", App));
        var unknown = await gateway.Client.SendAsync(Preflight("/v1/nothing", App));

        await StatusCodeTests.AssertError(plain, 405, "Method Not Allowed");
        Assert.Equal("POST", plain.Content.Headers.Allow.Single());
        await StatusCodeTests.AssertError(unknown, 404, "Not Found");
        Assert.False(HasCorsHeaders(plain));
    }

    [Fact]
    public async Task Preflight_to_an_any_route_is_answered_by_cors_not_by_the_route()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        // The route's resource policy denies 127.0.0.1: a preflight that reached the route would get 403.
        var preflight = await gateway.Client.SendAsync(Preflight("/v1/any/a/b", "https://anyone.example", "DELETE"));
        var actual = await gateway.Client.SendAsync(Post("/v1/any/a/b", "https://anyone.example"));

        Assert.Equal(204, (int)preflight.StatusCode);
        Assert.Equal("*", Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Equal("DELETE", Header(preflight, "Access-Control-Allow-Methods"));
        Assert.Equal("content-type", Header(preflight, "Access-Control-Allow-Headers"));
        Assert.Equal(403, (int)actual.StatusCode);
        Assert.Equal("*", Header(actual, "Access-Control-Allow-Origin"));
    }
}
