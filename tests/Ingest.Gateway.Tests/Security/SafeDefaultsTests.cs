using System.Net;
using Ingest.Core.Configuration;
using Ingest.Gateway.Cli;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Security;

/// <summary>
/// Safe defaults: open routes must say so, the admin port stays on loopback unless told otherwise
/// and then needs a token, the admin API never answers without the token, and the gateway's own
/// answers carry static security headers. About 2 s.
/// </summary>
public class SafeDefaultsTests
{
    private const string Routes = """
        targets: { sink: { type: blackhole } }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
        """;

    private static List<string> Validate(string yaml) =>
        ConfigValidator.Validate(ConfigLoader.Load(yaml), ConfigFile.TargetKinds);

    [Fact]
    public void A_route_with_auth_none_must_say_public_true()
    {
        var errors = Validate("""
            resourcePolicy: { allow: [0.0.0.0/0, "::/0"] }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none }
            """);

        Assert.Contains("routes[0] (POST /v1/events).public: a route with 'auth: none' must say 'public: true' (an allow-all resource policy does not count).", errors);
        Assert.Empty(Validate(Routes));
    }

    [Fact]
    public void The_admin_port_binds_loopback_by_default()
    {
        var config = ConfigLoader.Load(Routes);

        Assert.True(IPAddress.IsLoopback(IPEndPoint.Parse(config.Admin.Listen).Address), config.Admin.Listen);
        Assert.Empty(ConfigValidator.Validate(config, ConfigFile.TargetKinds));
    }

    [Theory]
    [InlineData("0.0.0.0:9090")]
    [InlineData("[::]:9090")]
    [InlineData("10.1.2.3:9090")]
    public void An_admin_port_other_machines_reach_needs_a_token(string address)
    {
        var errors = Validate($"admin: {{ listen: \"{address}\" }}\n" + Routes);
        var withToken = Validate($"admin: {{ listen: \"{address}\", token: a-long-admin-token-value }}\n" + Routes);

        Assert.Equal($"admin.listen: {address} is reachable from other machines, but admin.token is not set. Set token: \"${{INGEST_ADMIN_TOKEN}}\", or listen on 127.0.0.1:9090.", Assert.Single(errors));
        Assert.Empty(withToken);
    }

    [Fact]
    public async Task The_admin_api_refuses_every_path_without_the_token()
    {
        (string Method, string Path)[] paths =
        [
            ("GET", "/admin/routes"), ("GET", "/admin/targets"), ("GET", "/admin/stages"), ("GET", "/admin/deployment"),
            ("GET", "/admin/deployments"), ("POST", "/admin/deployments"), ("GET", "/admin/usage"), ("POST", "/admin/flush-cache"),
            ("POST", "/admin/test-invoke"), ("PUT", "/admin/routes/POST%20%2Fv1%2Fevents/execution-log"), ("GET", "/admin/anything"),
            ("GET", "/status/data"),
        ];
        await using (var noToken = await ConsoleGateway.StartAsync(Routes, token: null))
        {
            foreach (var (method, path) in paths)
            {
                using var response = await noToken.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} without a configured token: {response.StatusCode}");
            }
        }
        await using var gateway = await ConsoleGateway.StartAsync(Routes);
        foreach (var (method, path) in paths)
        {
            using var anonymous = await gateway.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            using var wrong = new HttpRequestMessage(new HttpMethod(method), path);
            wrong.Headers.TryAddWithoutValidation("Authorization", "Bearer " + ConsoleGateway.Token + "x");
            using var wrongResponse = await gateway.Anonymous.SendAsync(wrong);
            Assert.True(anonymous.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} without the token: {anonymous.StatusCode}");
            Assert.True(wrongResponse.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with a wrong token: {wrongResponse.StatusCode}");
        }
        using var allowed = await gateway.Admin.GetAsync("/admin/routes");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Gateway_answers_carry_nosniff_and_errors_are_never_cached()
    {
        await using var gateway = await TestGateway.StartAsync(Routes);

        using var accepted = await gateway.Client.PostAsync("/v1/events", new StringContent("{}", null, "application/json"));
        using var notFound = await gateway.Client.GetAsync("/nowhere");
        using var notAllowed = await gateway.Client.GetAsync("/v1/events");
        using var unsupported = await gateway.Client.PostAsync("/v1/events", new StringContent("x", null, "text/plain"));

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("nosniff", Assert.Single(accepted.Headers.GetValues("X-Content-Type-Options")));
        foreach (var error in new[] { notFound, notAllowed, unsupported })
        {
            Assert.True((int)error.StatusCode >= 400, error.StatusCode.ToString());
            Assert.Equal("nosniff", Assert.Single(error.Headers.GetValues("X-Content-Type-Options")));
            Assert.True(error.Headers.CacheControl?.NoStore, $"{error.StatusCode} has Cache-Control: no-store");
            Assert.Equal("application/json", error.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task The_status_page_has_a_strict_content_security_policy_that_allows_its_own_script()
    {
        await using var gateway = await ConsoleGateway.StartAsync(Routes);

        using var page = await gateway.Anonymous.GetAsync("/status");
        using var error = await gateway.Anonymous.GetAsync("/admin/routes");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var csp = Assert.Single(page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("DENY", Assert.Single(page.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", Assert.Single(page.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("nosniff", Assert.Single(page.Headers.GetValues("X-Content-Type-Options")));
        Assert.True(error.Headers.CacheControl?.NoStore);
        Assert.Equal("nosniff", Assert.Single(error.Headers.GetValues("X-Content-Type-Options")));
    }
}
