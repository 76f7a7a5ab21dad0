using Ingest.Targets.Http;
using Microsoft.AspNetCore.Http;

namespace Ingest.Targets.Tests.Http;

public class UrlTemplateTests
{
    private static readonly Dictionary<string, string> NoParameters = [];

    [Fact]
    public void Path_parameters_are_escaped_per_segment_and_a_greedy_value_keeps_its_slashes()
    {
        var url = UrlTemplate.TryParse("http://h:8080/a/{id}/files/{proxy+}", out var error)!;

        Assert.Null(error);
        Assert.Equal(["id", "proxy"], url.ParameterNames);
        Assert.Equal("http://h:8080", url.Origin);
        Assert.Equal(
            "http://h:8080/a/x%20y%3Fz/files/d%2Fir/sub dir/f.txt".Replace(" ", "%20", StringComparison.Ordinal).Replace("%2Fir", "/ir", StringComparison.Ordinal),
            url.Build(new Dictionary<string, string> { ["id"] = "x y?z", ["proxy"] = "d/ir/sub dir/f.txt" }, "proxy", QueryString.Empty));
    }

    [Fact]
    public void The_greedy_value_is_appended_only_when_the_url_has_no_placeholder()
    {
        var plain = UrlTemplate.TryParse("http://h/base", out _)!;
        var root = UrlTemplate.TryParse("http://h", out _)!;
        var parameters = new Dictionary<string, string> { ["proxy"] = "a/b" };

        Assert.Equal("http://h/base/a/b", plain.Build(parameters, "proxy", QueryString.Empty));
        Assert.Equal("http://h/a/b", root.Build(parameters, "proxy", QueryString.Empty));
        Assert.Equal("http://h/base", plain.Build(parameters, greedy: null, QueryString.Empty));
    }

    [Fact]
    public void The_client_query_follows_the_urls_own_query()
    {
        var withQuery = UrlTemplate.TryParse("http://h/x?fixed=1", out _)!;
        var without = UrlTemplate.TryParse("http://h/x", out _)!;

        Assert.Equal("http://h/x?fixed=1&a=%2F&b", withQuery.Build(NoParameters, null, new QueryString("?a=%2F&b")));
        Assert.Equal("http://h/x?fixed=1", withQuery.Build(NoParameters, null, QueryString.Empty));
        Assert.Equal("http://h/x?a=1", without.Build(NoParameters, null, new QueryString("?a=1")));
        Assert.Same(without.Build(NoParameters, null, QueryString.Empty), without.Build(NoParameters, null, QueryString.Empty));
    }

    [Fact]
    public void Only_a_url_without_placeholders_and_query_is_parsed_once()
    {
        var plain = UrlTemplate.TryParse("http://h:8080/base", out _)!;

        Assert.Equal(new Uri("http://h:8080/base"), plain.FixedUri);
        Assert.Equal(plain.Build(NoParameters, null, QueryString.Empty), plain.FixedUri!.OriginalString);
        Assert.Null(UrlTemplate.TryParse("http://h/x?fixed=1", out _)!.FixedUri);
        Assert.Null(UrlTemplate.TryParse("http://h/a/{id}", out _)!.FixedUri);
    }

    [Theory]
    [InlineData("ftp://h/x", "not an absolute http")]
    [InlineData("/relative", "not an absolute http")]
    [InlineData("http://{host}/x", "not in the host")]
    [InlineData("http://h/{a b}", "is not a placeholder")]
    [InlineData("http://h/{open", "without")]
    [InlineData("http://h/close}", "without")]
    [InlineData("", "empty")]
    public void Bad_urls_are_refused_with_the_reason(string text, string reason)
    {
        Assert.Null(UrlTemplate.TryParse(text, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
