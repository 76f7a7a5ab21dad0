using Ingest.Core.Configuration;
using Ingest.Core.Domains;

namespace Ingest.Core.Tests.Domains;

public class DomainMapTests
{
    private const string Domains = """
        stages: [{ name: prod }, { name: beta }]
        domains:
          - { host: api.example.com, basePath: v2, stage: prod }
          - { host: api.example.com, basePath: "/v2/beta/", stage: beta }
          - { host: api.example.com, basePath: legacy }
          - { host: root.example.com, stage: prod }
          - { host: "*.tenants.example.com", basePath: events }
        """;

    private static DomainMap Map(string yaml = Domains) => DomainMap.Compile(ConfigLoader.Load(yaml))!;

    [Theory]
    [InlineData("api.example.com", "/v2/v1/events", "/prod/v1/events")]
    [InlineData("API.Example.com", "/v2/v1/events", "/prod/v1/events")]
    [InlineData("api.example.com", "/v2", "/prod/")]
    [InlineData("api.example.com", "/v2/beta/v1/events", "/beta/v1/events")]
    [InlineData("api.example.com", "/legacy/v1/events", "/v1/events")]
    [InlineData("root.example.com", "/v1/events", "/prod/v1/events")]
    [InlineData("acme.tenants.example.com", "/events/v1/x", "/v1/x")]
    [InlineData("unmapped.example.com", "/v2/v1/events", "/v2/v1/events")]
    [InlineData("127.0.0.1", "/v1/events", "/v1/events")]
    public void Mapped_paths_are_rewritten_and_other_hosts_keep_theirs(string host, string path, string expected)
    {
        Assert.True(Map().TryRewrite(host, ref path));
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("api.example.com", "/v3/x")]
    [InlineData("api.example.com", "/v20/x")]
    [InlineData("api.example.com", "/")]
    [InlineData("acme.tenants.example.com", "/other")]
    public void A_mapped_host_with_an_unknown_base_path_is_refused(string host, string path)
    {
        var original = path;
        Assert.False(Map().TryRewrite(host, ref path));
        Assert.Equal(original, path);
    }

    [Fact]
    public void Unknown_base_paths_get_404_in_http_v2_and_403_in_rest_v1()
    {
        Assert.Equal(404, Map().UnknownBasePath.Status);
        var restV1 = Map("compat: rest-v1\n" + Domains).UnknownBasePath;
        Assert.Equal(403, restV1.Status);
        Assert.Equal("Forbidden", restV1.Message);
    }

    [Fact]
    public void No_domains_compile_to_nothing() =>
        Assert.Null(DomainMap.Compile(ConfigLoader.Load("compat: http-v2")));

    [Theory]
    [InlineData("api.example.com:8443", "api.example.com")]
    [InlineData("api.example.com", "api.example.com")]
    [InlineData("[::1]:8080", "[::1]")]
    [InlineData("", "")]
    public void The_host_header_loses_its_port(string header, string host) =>
        Assert.Equal(host, DomainRouting.HostWithoutPort(header).ToString());

    [Fact]
    public void Validation_names_each_bad_mapping_and_the_fix()
    {
        var errors = new List<string>();
        DomainValidation.Validate(ConfigLoader.Load("""
            stages: [{ name: prod }]
            domains:
              - { host: api.example.com, basePath: v2, stage: prod }
              - { host: API.example.com, basePath: /v2/, stage: prod }
              - { host: "https://api.example.com/", basePath: v1 }
              - { basePath: v1 }
              - { host: b.example.com, basePath: "v1//x" }
              - { host: c.example.com, basePath: "{id}" }
              - { host: d.example.com, stage: staging }
            """), errors);

        Assert.Equal(
        [
            "domains[1] (API.example.com).basePath: '/v2' is mapped twice on API.example.com. Remove one of the mappings.",
            "domains[2] (https://api.example.com/).host: 'https://api.example.com/' is not a host name. Write e.g. api.example.com or *.example.com (no scheme, port or path).",
            "domains[3].host: missing. Write the host name clients use, e.g. api.example.com.",
            "domains[4] (b.example.com).basePath: 'v1//x' must be plain path segments, e.g. v2 or v2/beta (no empty segments, braces, ?, # or %).",
            "domains[5] (c.example.com).basePath: '{id}' must be plain path segments, e.g. v2 or v2/beta (no empty segments, braces, ?, # or %).",
            "domains[6] (d.example.com).stage: 'staging' is not a stage (stages are prod). Name one of the stages, or remove stage to serve paths without prefix.",
        ], errors);
    }
}
