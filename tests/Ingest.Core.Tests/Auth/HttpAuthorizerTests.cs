using System.Text;
using Ingest.Core.Auth;

namespace Ingest.Core.Tests.Auth;

public class HttpAuthorizerTests
{
    [Fact]
    public void Simple_response_with_context_values()
    {
        var result = HttpAuthorizer.ParseResult(Encoding.UTF8.GetBytes("""
            {"isAuthorized": true, "principalId": "p1", "context": {"tenant": "t1", "tier": 2, "beta": true, "tags": ["a"]}}
            """));

        Assert.True(result.Allowed);
        Assert.Equal("p1", result.PrincipalId);
        Assert.Equal("t1", result.Context!["tenant"]);
        Assert.Equal("2", result.Context["tier"]);
        Assert.Equal("true", result.Context["beta"]);
        Assert.Equal("""["a"]""", result.Context["tags"]);
    }

    [Theory]
    [InlineData("""{"isAuthorized": false}""", false)]
    [InlineData("""{"policyDocument": {"Statement": [{"Effect": "Allow"}]}}""", true)]
    [InlineData("""{"policyDocument": {"Statement": [{"Effect": "Allow"}, {"Effect": "Deny"}]}}""", false)]
    [InlineData("""{"policyDocument": {"statement": {"effect": "allow"}}}""", true)]
    public void Allow_and_deny_forms(string json, bool allowed)
    {
        Assert.Equal(allowed, HttpAuthorizer.ParseResult(Encoding.UTF8.GetBytes(json)).Allowed);
    }

    [Theory]
    [InlineData("""{"isAuthorized": "yes"}""")]
    [InlineData("""[]""")]
    [InlineData("""{}""")]
    public void Anything_else_is_not_a_response(string json)
    {
        Assert.ThrowsAny<Exception>(() => HttpAuthorizer.ParseResult(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData(null, "header:authorization")]
    [InlineData("header:X-Token, query:t", "header:x-token,query:t")]
    [InlineData("$request.header.Authorization", "header:authorization")]
    public void Identity_sources_parse(string? text, string expected)
    {
        Assert.True(IdentitySource.TryParseList(text, out var sources, out var error), error);
        Assert.Equal(expected, string.Join(',', sources.Select(s => (s.IsHeader ? "header:" : "query:") + s.Name)));
    }

    [Theory]
    [InlineData("cookie:x")]
    [InlineData("header:")]
    [InlineData(" , ")]
    public void Bad_identity_sources_are_named(string text)
    {
        Assert.False(IdentitySource.TryParseList(text, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Result_cache_expires_entries_stays_bounded_and_can_be_flushed()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var caches = new AuthorizerCaches(time);
        var cache = caches.Get("a");
        var allow = new AuthorizerResult(true, "p", null);

        Assert.True(cache.Set(Sha256Key.Of([1]), allow, TimeSpan.FromSeconds(10), capacity: 2));
        Assert.True(cache.Set(Sha256Key.Of([2]), allow, TimeSpan.FromSeconds(10), capacity: 2));
        Assert.False(cache.Set(Sha256Key.Of([3]), allow, TimeSpan.FromSeconds(10), capacity: 2));
        Assert.True(cache.TryGet(Sha256Key.Of([1]), out var hit));
        Assert.Same(allow, hit);

        time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(cache.TryGet(Sha256Key.Of([1]), out _));
        Assert.True(cache.Set(Sha256Key.Of([3]), allow, TimeSpan.FromSeconds(10), capacity: 2));

        Assert.Equal(1, caches.Clear());
        Assert.False(cache.TryGet(Sha256Key.Of([3]), out _));
    }
}
