using System.Net;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Domains;

/// <summary>Custom domains with base paths on a real Kestrel: the Host header picks the mapping. About 1 s.</summary>
public class CustomDomainTests
{
    private const string Routes = """
        targets: { sink: { type: blackhole } }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
        """;

    private static async Task<HttpResponseMessage> PostAsync(TestGateway gateway, string host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{}", null, "application/json") };
        request.Headers.Host = host;
        return await gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task A_base_path_on_a_mapped_host_is_removed_before_route_matching()
    {
        await using var gateway = await TestGateway.StartAsync(Routes + """

            domains:
              - { host: api.example.test, basePath: v2 }
              - { host: "*.tenants.example.test", basePath: ingest/events }
            """);

        using var mapped = await PostAsync(gateway, "api.example.test", "/v2/v1/events");
        using var withPort = await PostAsync(gateway, "API.example.test:8443", "/v2/v1/events");
        using var wildcard = await PostAsync(gateway, "acme.tenants.example.test", "/ingest/events/v1/events");
        using var unknownBase = await PostAsync(gateway, "api.example.test", "/v3/v1/events");
        using var unprefixed = await PostAsync(gateway, "api.example.test", "/v1/events");
        using var otherHost = await PostAsync(gateway, "127.0.0.1", "/v1/events");

        Assert.Equal(HttpStatusCode.Accepted, mapped.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, withPort.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, wildcard.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownBase.StatusCode);
        Assert.Equal("""{"message":"Not Found"}""", await unknownBase.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, unprefixed.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, otherHost.StatusCode);

        // The access log keeps the path as sent, with the route it matched.
        var lines = await gateway.AccessLogLinesAsync(6);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal("/v2/v1/events", first.GetProperty("path").GetString());
        Assert.Equal("POST /v1/events", first.GetProperty("routeKey").GetString());
    }

    [Fact]
    public async Task Rest_v1_refuses_an_unknown_base_path_with_403()
    {
        await using var gateway = await TestGateway.StartAsync("compat: rest-v1\n" + Routes + """

            domains: [{ host: api.example.test, basePath: v2 }]
            """);

        using var unknownBase = await PostAsync(gateway, "api.example.test", "/v3/v1/events");

        Assert.Equal(HttpStatusCode.Forbidden, unknownBase.StatusCode);
        Assert.Equal("""{"message":"Forbidden"}""", await unknownBase.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_mapping_with_a_stage_serves_the_base_path_from_that_stage()
    {
        await using var gateway = await TestGateway.StartAsync(Routes + """

            stages: [{ name: prod }, { name: beta }]
            domains:
              - { host: api.example.test, basePath: v2, stage: prod }
              - { host: api.example.test, basePath: v2/beta, stage: beta }
            """);

        using var prod = await PostAsync(gateway, "api.example.test", "/v2/v1/events");
        using var beta = await PostAsync(gateway, "api.example.test", "/v2/beta/v1/events");
        using var direct = await PostAsync(gateway, "127.0.0.1", "/prod/v1/events");

        Assert.Equal(HttpStatusCode.Accepted, prod.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, beta.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, direct.StatusCode);
        var lines = await gateway.AccessLogLinesAsync(3);
        Assert.Equal("prod", JsonDocument.Parse(lines[0]).RootElement.GetProperty("stage").GetString());
        Assert.Equal("beta", JsonDocument.Parse(lines[1]).RootElement.GetProperty("stage").GetString());
    }
}
