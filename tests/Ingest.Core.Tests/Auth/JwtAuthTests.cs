using Ingest.Core.Auth;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Auth;

/// <summary>jwt authorizers against a JWKS served by a real Kestrel, on a fake clock.</summary>
public sealed class JwtAuthTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly TestKey _k1 = TestKey.Rsa("k1");
    private readonly TestKey _k2 = TestKey.Rsa("k2");
    private volatile string _jwks;
    private volatile int _jwksStatus = 200;
    private FakeServer? _server;

    public JwtAuthTests() => _jwks = TestKey.Jwks(_k1);

    private async Task<FakeServer> ServerAsync() => _server ??= await FakeServer.StartAsync(async context =>
    {
        if (context.Request.Path == "/.well-known/openid-configuration")
        {
            await context.Response.WriteAsJsonAsync(new { issuer = "x", jwks_uri = $"{_server!.BaseUrl}/keys" });
            return;
        }
        context.Response.StatusCode = _jwksStatus;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(_jwks);
    });

    private async Task<RouteAuthenticator> CompileAsync(string? jwks = null, string scopes = "", string issuer = "https://issuer.test/")
    {
        var server = await ServerAsync();
        jwks ??= $"{server.BaseUrl}/keys";
        return AuthTestContext.Compile($$"""
            authorizers:
              devices-jwt: { type: jwt, issuer: "{{issuer}}", audience: ingest{{(jwks.Length > 0 ? $", jwks: \"{jwks}\"" : "")}} }
            targets: { sink: { type: blackhole } }
            routes: [{ route: POST /v1/events, target: sink, auth: [devices-jwt]{{scopes}} }]
            """, _time);
    }

    private static async Task<(Rejection? Rejection, RequestContext Context)> SendAsync(RouteAuthenticator auth, string? authorization)
    {
        var http = authorization is null
            ? AuthTestContext.Http("POST", "/v1/events")
            : AuthTestContext.Http("POST", "/v1/events", null, ("Authorization", authorization));
        var context = AuthTestContext.Request(http);
        return (await auth.AuthenticateAsync(context, default), context);
    }

    [Fact]
    public async Task Valid_rs256_token_passes_with_its_subject_as_principal()
    {
        var auth = await CompileAsync();

        var (rejection, context) = await SendAsync(auth, "Bearer " + _k1.Token(Now));

        Assert.Null(rejection);
        Assert.Equal("user-1", context.Principal);
    }

    [Fact]
    public async Task Valid_es256_token_passes()
    {
        var ec = TestKey.EcP256("ec1");
        _jwks = TestKey.Jwks(_k1, ec);
        var auth = await CompileAsync();

        Assert.Null((await SendAsync(auth, "Bearer " + ec.Token(Now, subject: "device-7"))).Rejection);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer not-a-jwt")]
    [InlineData("Bearer ")]
    public async Task Missing_or_malformed_token_is_unauthorized(string? authorization)
    {
        var auth = await CompileAsync();

        var (rejection, context) = await SendAsync(auth, authorization);

        Assert.Equal((401, "Unauthorized"), (rejection!.Status, rejection.Message));
        Assert.Null(context.Principal);
    }

    [Fact]
    public async Task Expiry_allows_the_clock_skew_and_no_more()
    {
        var auth = await CompileAsync();
        var token = _k1.Token(Now - TimeSpan.FromMinutes(20), lifetime: TimeSpan.FromMinutes(16));

        // Expired 4 minutes ago: inside the default 5 minute skew.
        Assert.Null((await SendAsync(auth, "Bearer " + token)).Rejection);

        _time.Advance(TimeSpan.FromMinutes(2));
        var (rejection, _) = await SendAsync(auth, "Bearer " + token);
        Assert.Equal(401, rejection!.Status);
        Assert.Contains("Lifetime", rejection.LogReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://other-issuer.test/", "ingest")]
    [InlineData("https://issuer.test/", "other-audience")]
    public async Task Wrong_issuer_or_audience_is_unauthorized(string issuer, string audience)
    {
        var auth = await CompileAsync();

        var (rejection, _) = await SendAsync(auth, "Bearer " + _k1.Token(Now, issuer: issuer, audience: audience));

        Assert.Equal((401, "Unauthorized"), (rejection!.Status, rejection.Message));
    }

    [Fact]
    public async Task Unsigned_token_is_unauthorized()
    {
        var auth = await CompileAsync();
        static string B64(string s) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(s);
        var exp = (Now + TimeSpan.FromMinutes(5)).ToUnixTimeSeconds();
        var token = $"{B64("""{"alg":"none","typ":"JWT"}""")}.{B64($$"""{"sub":"x","iss":"https://issuer.test/","aud":"ingest","exp":{{exp}}}""")}.";

        Assert.Equal(401, (await SendAsync(auth, "Bearer " + token)).Rejection!.Status);
    }

    [Fact]
    public async Task Token_must_hold_every_route_scope()
    {
        var auth = await CompileAsync(scopes: ", scopes: [orders:write, orders:read]");

        Assert.Null((await SendAsync(auth, "Bearer " + _k1.Token(Now, scope: "orders:read orders:write profile"))).Rejection);
        Assert.Null((await SendAsync(auth, "Bearer " + _k1.Token(Now, scp: ["orders:write", "orders:read"]))).Rejection);

        var (rejection, _) = await SendAsync(auth, "Bearer " + _k1.Token(Now, scope: "orders:read"));
        Assert.Equal((403, "Forbidden"), (rejection!.Status, rejection.Message));
        var (none, _) = await SendAsync(auth, "Bearer " + _k1.Token(Now));
        Assert.Equal(403, none!.Status);
    }

    [Fact]
    public async Task New_key_published_at_the_url_is_accepted_without_restart()
    {
        var server = await ServerAsync();
        var auth = await CompileAsync();
        Assert.Null((await SendAsync(auth, "Bearer " + _k1.Token(Now))).Rejection);
        var fetches = server.Hits;

        // The issuer rotates: k2 is published. Within a minute of the last fetch the unknown key id
        // does not trigger another fetch...
        _jwks = TestKey.Jwks(_k1, _k2);
        Assert.Equal(401, (await SendAsync(auth, "Bearer " + _k2.Token(Now))).Rejection!.Status);
        Assert.Equal(fetches, server.Hits);

        // ...after it, it does (once), and the new key is accepted.
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null((await SendAsync(auth, "Bearer " + _k2.Token(_time.GetUtcNow()))).Rejection);
        Assert.Equal(fetches + 1, server.Hits);
    }

    [Fact]
    public async Task Unknown_key_ids_refetch_at_most_once_a_minute()
    {
        var server = await ServerAsync();
        var auth = await CompileAsync();
        Assert.Null((await SendAsync(auth, "Bearer " + _k1.Token(Now))).Rejection);
        var fetches = server.Hits;
        var stranger = TestKey.Rsa("k9");

        _time.Advance(TimeSpan.FromSeconds(61));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(401, (await SendAsync(auth, "Bearer " + stranger.Token(_time.GetUtcNow()))).Rejection!.Status);
        }
        Assert.Equal(fetches + 1, server.Hits);

        _time.Advance(TimeSpan.FromSeconds(61));
        await SendAsync(auth, "Bearer " + stranger.Token(_time.GetUtcNow()));
        Assert.Equal(fetches + 2, server.Hits);
    }

    [Fact]
    public async Task Removed_key_stops_working_after_the_refresh_interval()
    {
        var server = await ServerAsync();
        _jwks = TestKey.Jwks(_k1, _k2);
        var auth = await CompileAsync();
        Assert.Null((await SendAsync(auth, "Bearer " + _k1.Token(Now))).Rejection);

        _jwks = TestKey.Jwks(_k2);
        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.Null((await SendAsync(auth, "Bearer " + _k1.Token(_time.GetUtcNow()))).Rejection);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(401, (await SendAsync(auth, "Bearer " + _k1.Token(_time.GetUtcNow()))).Rejection!.Status);
        Assert.Null((await SendAsync(auth, "Bearer " + _k2.Token(_time.GetUtcNow()))).Rejection);
        _ = server;
    }

    [Fact]
    public async Task Jwks_from_a_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"jwks-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, TestKey.Jwks(_k2));
        try
        {
            var auth = await CompileAsync(jwks: "file:" + path);

            Assert.Null((await SendAsync(auth, "Bearer " + _k2.Token(Now))).Rejection);
            Assert.Equal(401, (await SendAsync(auth, "Bearer " + _k1.Token(Now))).Rejection!.Status);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Jwks_found_by_oidc_discovery_of_the_issuer()
    {
        var server = await ServerAsync();
        var issuer = server.BaseUrl + "/";
        var auth = await CompileAsync(jwks: "", issuer: issuer);

        Assert.Null((await SendAsync(auth, "Bearer " + _k1.Token(Now, issuer: issuer))).Rejection);
    }

    [Fact]
    public async Task Jwks_unavailable_is_an_internal_error()
    {
        _jwksStatus = 503;
        var auth = await CompileAsync();

        var (rejection, _) = await SendAsync(auth, "Bearer " + _k1.Token(Now));

        Assert.Equal((500, "Internal Server Error"), (rejection!.Status, rejection.Message));
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
