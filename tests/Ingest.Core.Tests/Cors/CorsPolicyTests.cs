using Ingest.Core.Configuration;
using Ingest.Core.Cors;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Tests.Cors;

public class CorsPolicyTests
{
    private static HttpContext Request(string method, string? origin, string? requestMethod = null, string? requestHeaders = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        if (origin is not null)
        {
            context.Request.Headers.Origin = origin;
        }
        if (requestMethod is not null)
        {
            context.Request.Headers.AccessControlRequestMethod = requestMethod;
        }
        if (requestHeaders is not null)
        {
            context.Request.Headers.AccessControlRequestHeaders = requestHeaders;
        }
        return context;
    }

    private static CorsPolicy Policy(Action<CorsOptions> configure)
    {
        var options = new CorsOptions { Origins = ["https://app.example"], Methods = ["post"], Headers = ["content-type", "x-api-key"], MaxAge = 600 };
        configure(options);
        return CorsPolicy.Compile(options)!;
    }

    [Fact]
    public void Preflight_of_an_allowed_origin_lists_methods_headers_and_max_age()
    {
        var context = Request("OPTIONS", "https://app.example", "POST");

        Policy(_ => { }).WritePreflight(context);

        var headers = context.Response.Headers;
        Assert.Equal(204, context.Response.StatusCode);
        Assert.Equal("https://app.example", headers.AccessControlAllowOrigin);
        Assert.Equal("POST", headers.AccessControlAllowMethods);
        Assert.Equal("content-type, x-api-key", headers.AccessControlAllowHeaders);
        Assert.Equal("600", headers.AccessControlMaxAge);
        Assert.Equal("Origin", headers.Vary);
        Assert.False(headers.ContainsKey("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public void Other_origins_get_no_cors_headers()
    {
        var preflight = Request("OPTIONS", "https://evil.example", "POST");
        var actual = Request("POST", "https://evil.example");
        var policy = Policy(_ => { });

        policy.WritePreflight(preflight);
        policy.ApplyHeaders(actual);

        foreach (var headers in new[] { preflight.Response.Headers, actual.Response.Headers })
        {
            Assert.DoesNotContain(headers.Keys, k => k.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
            Assert.Equal("Origin", headers.Vary);
        }
    }

    [Fact]
    public void Credentials_echo_the_origin_and_wildcards_echo_the_request()
    {
        var context = Request("OPTIONS", "https://app.example", "PUT", "content-type, x-trace");

        Policy(o => { o.Credentials = true; o.Methods = []; o.Headers = ["*"]; o.MaxAge = null; }).WritePreflight(context);

        var headers = context.Response.Headers;
        Assert.Equal("https://app.example", headers.AccessControlAllowOrigin);
        Assert.Equal("true", headers.AccessControlAllowCredentials);
        Assert.Equal("PUT", headers.AccessControlAllowMethods);
        Assert.Equal("content-type, x-trace", headers.AccessControlAllowHeaders);
        Assert.False(headers.ContainsKey("Access-Control-Max-Age"));
        Assert.Equal(["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"], headers.Vary.Select(v => v!).ToArray());
    }

    [Fact]
    public void Any_origin_without_credentials_answers_a_star_and_exposes_headers()
    {
        var context = Request("POST", "https://anyone.example");

        Policy(o => { o.Origins = ["*"]; o.ExposeHeaders = ["x-request-id", "Retry-After"]; }).ApplyHeaders(context);

        var headers = context.Response.Headers;
        Assert.Equal("*", headers.AccessControlAllowOrigin);
        Assert.Equal("x-request-id, Retry-After", headers.AccessControlExposeHeaders);
        Assert.False(headers.ContainsKey("Vary"));
    }

    [Theory]
    [InlineData("OPTIONS", true, true, true)]
    [InlineData("OPTIONS", false, true, false)]
    [InlineData("OPTIONS", true, false, false)]
    [InlineData("POST", true, true, false)]
    public void Recognises_preflights(string method, bool origin, bool requestMethod, bool expected) =>
        Assert.Equal(expected, CorsPolicy.IsPreflight(Request(method, origin ? "https://a.example" : null, requestMethod ? "POST" : null).Request));
}
