using Ingest.Core.Caching;
using static Ingest.Core.Tests.Caching.CacheTestKit;

namespace Ingest.Core.Tests.Caching;

public sealed class ResponseCacheKeyTests
{
    private static readonly string[] PathParameters = ["id"];

    private static string Key(string[] keys, string method = "GET", Dictionary<string, string>? path = null, string? query = null, Dictionary<string, string>? headers = null) =>
        ResponseCacheKey.Compile("GET /v1/items/{id}\nprod\nABC\n", keys, PathParameters)
            .For(Request(method: method, pathParameters: path ?? new() { ["id"] = "1" }, query: query, headers: headers));

    [Fact]
    public void By_default_the_key_is_the_path_parameters_and_query_noise_does_not_split_entries()
    {
        var plain = Key([]);

        Assert.Equal(plain, Key([], query: "?utm_source=mail&_=1732590000"));
        Assert.Equal(plain, Key([], headers: new() { ["User-Agent"] = "curl/8" }));
        Assert.NotEqual(plain, Key([], path: new() { ["id"] = "2" }));
    }

    [Fact]
    public void The_method_and_the_route_prefix_are_part_of_the_key()
    {
        var get = Key([]);

        Assert.NotEqual(get, Key([], method: "HEAD"));
        Assert.NotEqual(get, ResponseCacheKey.Compile("GET /v1/items/{id}\ndev\nABC\n", [], PathParameters).For(Request()));
        Assert.StartsWith("GET /v1/items/{id}\nprod\nABC\n", get, StringComparison.Ordinal);
    }

    [Fact]
    public void Listed_query_and_header_parameters_split_entries_and_nothing_else_does()
    {
        string[] keys = ["query:lang", "header:X-Tenant"];
        var english = Key(keys, query: "?lang=en", headers: new() { ["X-Tenant"] = "acme" });

        Assert.Equal(english, Key(keys, query: "?lang=en&page=2", headers: new() { ["X-Tenant"] = "acme", ["X-Other"] = "1" }));
        Assert.Equal(english, Key(keys, path: new() { ["id"] = "other" }, query: "?lang=en", headers: new() { ["x-tenant"] = "acme" }));
        Assert.NotEqual(english, Key(keys, query: "?lang=de", headers: new() { ["X-Tenant"] = "acme" }));
        Assert.NotEqual(english, Key(keys, query: "?lang=en", headers: new() { ["X-Tenant"] = "globex" }));
    }

    [Fact]
    public void A_missing_parameter_an_empty_one_and_repeated_values_all_differ()
    {
        string[] keys = ["query:tag"];
        var missing = Key(keys);
        var empty = Key(keys, query: "?tag=");
        var one = Key(keys, query: "?tag=a,b");
        var two = Key(keys, query: "?tag=a&tag=b");

        Assert.Equal(4, new[] { missing, empty, one, two }.Distinct().Count());
    }

    [Fact]
    public void A_value_cannot_forge_the_key_of_other_values()
    {
        // With plain separators "a" + "1:b" and "a1:" + "b" could meet; length prefixes keep them apart.
        string[] keys = ["query:x", "query:y"];
        var first = Key(keys, query: "?x=a&y=" + Uri.EscapeDataString("1;1:b"));
        var second = Key(keys, query: "?x=" + Uri.EscapeDataString("a1;1:") + "&y=b");
        var third = Key(keys, query: "?x=a;1;1:b");

        Assert.NotEqual(first, second);
        Assert.NotEqual(first, third);
        Assert.NotEqual(second, third);
    }

    [Theory]
    [InlineData("path:id", "path", "id")]
    [InlineData("query:lang", "query", "lang")]
    [InlineData("header:X-Tenant", "header", "X-Tenant")]
    public void Entries_parse_as_kind_and_name(string entry, string kind, string name) =>
        Assert.Equal((kind, name), ResponseCacheKey.TryParse(entry));

    [Theory]
    [InlineData("id")]
    [InlineData("path:")]
    [InlineData(":id")]
    [InlineData("cookie:session")]
    [InlineData("")]
    public void Other_entries_do_not_parse(string entry) => Assert.Null(ResponseCacheKey.TryParse(entry));
}
