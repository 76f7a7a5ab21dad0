using System.Text;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;

namespace Ingest.Gateway.Tests.Security;

/// <summary>
/// Which address is the client: X-Forwarded-For and Forwarded are believed only from a trusted
/// proxy. The socket peer of every test request is 127.0.0.1.
/// </summary>
public class TrustedProxyTests
{
    private static string Config(string trusted) => $$"""
        trustedProxies: {{trusted}}
        targets: { sink: { type: blackhole } }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true, resourcePolicy: { deny: [203.0.113.0/24] } }
        """;

    private static async Task<HttpResponseMessage> PostAsync(TestGateway gateway, string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation(header, value);
        return await gateway.Client.SendAsync(request);
    }

    private static async Task<string[]> SourceIpsAsync(TestGateway gateway, int count) =>
        (await gateway.AccessLogLinesAsync(count)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("sourceIp").GetString()!).ToArray();

    [Fact]
    public async Task Loopback_trusted_the_right_most_untrusted_forwarded_address_is_the_client()
    {
        await using var gateway = await TestGateway.StartAsync(Config("[127.0.0.1, 10.0.0.0/8]"));

        var denied = await PostAsync(gateway, "X-Forwarded-For", "203.0.113.9");
        var allowed = await PostAsync(gateway, "X-Forwarded-For", "198.51.100.1");
        // The client claims 198.51.100.1 itself; our proxy (10.0.0.7) saw 203.0.113.9.
        var spoofed = await PostAsync(gateway, "X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.0.0.7");
        var forwarded = await PostAsync(gateway, "Forwarded", "for=\"203.0.113.10:5555\";proto=https");

        await StatusCodeTests.AssertError(denied, 403, "User: anonymous is not authorized to perform: execute-api:Invoke on resource: POST /v1/events with an explicit deny");
        Assert.Equal(202, (int)allowed.StatusCode);
        Assert.Equal(403, (int)spoofed.StatusCode);
        Assert.Equal(403, (int)forwarded.StatusCode);
        Assert.Equal(["203.0.113.9", "198.51.100.1", "203.0.113.9", "203.0.113.10"], await SourceIpsAsync(gateway, 4));
    }

    [Fact]
    public async Task Loopback_not_trusted_forwarded_headers_are_ignored()
    {
        await using var gateway = await TestGateway.StartAsync(Config("[10.0.0.0/8]"));

        var response = await PostAsync(gateway, "X-Forwarded-For", "203.0.113.9");
        var forwarded = await PostAsync(gateway, "Forwarded", "for=203.0.113.9");

        Assert.Equal(202, (int)response.StatusCode);
        Assert.Equal(202, (int)forwarded.StatusCode);
        Assert.Equal(["127.0.0.1", "127.0.0.1"], await SourceIpsAsync(gateway, 2));
    }

    [Fact]
    public async Task No_trusted_proxies_the_socket_peer_is_the_client()
    {
        await using var gateway = await TestGateway.StartAsync(Config("[]"));

        var response = await PostAsync(gateway, "X-Forwarded-For", "203.0.113.9");

        Assert.Equal(202, (int)response.StatusCode);
        Assert.Equal(["127.0.0.1"], await SourceIpsAsync(gateway, 1));
    }
}
