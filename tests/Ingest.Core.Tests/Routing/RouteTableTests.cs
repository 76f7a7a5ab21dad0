using Ingest.Core.Routing;

namespace Ingest.Core.Tests.Routing;

public class RouteTableTests
{
    private static RouteTable<string> Table(params string[] routes) =>
        new(routes.Select(r =>
        {
            var space = r.IndexOf(' ');
            return (r[..space], RouteTemplate.TryParse(r[(space + 1)..], out _)!, r);
        }));

    [Theory]
    [InlineData("POST", "/v1/events", "POST /v1/events")]
    [InlineData("POST", "/v1/devices/42/events", "POST /v1/devices/{id}/events")]
    [InlineData("GET", "/orders/a/b/c", "ANY /orders/{proxy+}")]
    [InlineData("POST", "/v1/devices/special/events", "POST /v1/devices/special/events")]
    [InlineData("GET", "/", "GET /")]
    public void Finds_the_most_specific_route(string method, string path, string expected)
    {
        var table = Table("POST /v1/events", "POST /v1/devices/{id}/events", "POST /v1/devices/special/events", "ANY /orders/{proxy+}", "GET /");

        Assert.Equal(RouteMatchKind.Found, table.Match(method, path, out var route, out _, out _));
        Assert.Equal(expected, route);
    }

    [Theory]
    [InlineData("/v1/event")]
    [InlineData("/v1/events/")]
    [InlineData("/v1/events/extra")]
    [InlineData("/orders")]
    [InlineData("/v1/devices//events")]
    [InlineData("")]
    public void Unknown_paths_are_not_found(string path)
    {
        var table = Table("POST /v1/events", "POST /v1/devices/{id}/events", "ANY /orders/{proxy+}");

        Assert.Equal(RouteMatchKind.NotFound, table.Match("POST", path, out _, out _, out _));
    }

    [Fact]
    public void Known_path_with_another_method_lists_the_allowed_ones()
    {
        var table = Table("POST /v1/events", "PUT /v1/events");

        Assert.Equal(RouteMatchKind.MethodNotAllowed, table.Match("GET", "/v1/events", out _, out _, out var allow));
        Assert.Equal("POST, PUT", allow);
    }

    [Fact]
    public void Extracts_parameters_and_greedy_rest()
    {
        var template = RouteTemplate.TryParse("/v1/{tenant}/files/{path+}", out _)!;
        var values = new Dictionary<string, string>();

        Assert.True(template.TryGetValues("/v1/acme/files/a/b%20c.txt", values));
        Assert.Equal("acme", values["tenant"]);
        Assert.Equal("a/b c.txt", values["path"]);
    }

    [Theory]
    [InlineData("v1/events", "must start with '/'")]
    [InlineData("/v1//events", "empty path segment")]
    [InlineData("/v1/{proxy+}/x", "must be the last segment")]
    [InlineData("/v1/{id}/{id}", "appears twice")]
    [InlineData("/v1/x{id}", "mixes text and a parameter")]
    [InlineData("/v1/{}", "must be a whole")]
    public void Refuses_bad_templates(string text, string reason)
    {
        Assert.Null(RouteTemplate.TryParse(text, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
