using System.Net;
using Ingest.TestSupport.Tls;

namespace Ingest.Gateway.Tests.Tls;

/// <summary>The plain-HTTP redirect listener (301/308 to the https port) and the HSTS header. About 1 s.</summary>
public sealed class HttpsRedirectTests : IDisposable
{
    private readonly TestCertificates _ca = new();

    public void Dispose() => _ca.Dispose();

    private async Task<TlsGateway> StartAsync()
    {
        using var certificate = _ca.Issue(["api.example.test"]);
        var (pem, key) = _ca.WritePem(certificate, "api");
        return await TlsGateway.StartAsync($$"""
            listen:
              - address: "127.0.0.1:0"
                tls:
                  certificates: [{ host: api.example.test, pem: "{{pem}}", key: "{{key}}" }]
                  redirectHttp: "127.0.0.1:0"
                  hsts: { maxAge: 600s, includeSubDomains: true }
              - { address: "127.0.0.1:0", protocols: http1 }
            """);
    }

    [Fact]
    public async Task Plain_http_is_redirected_to_the_https_port_keeping_path_and_query()
    {
        await using var gateway = await StartAsync();
        var redirect = gateway.Tls.RedirectEndPoints[0];
        using var plain = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{redirect}") };

        using var get = new HttpRequestMessage(HttpMethod.Get, "/v1/events?device=42&x=a%20b");
        get.Headers.Host = $"api.example.test:{redirect.Port}";
        using var getResponse = await plain.SendAsync(get);
        using var post = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("{}", null, "application/json") };
        post.Headers.Host = "api.example.test";
        using var postResponse = await plain.SendAsync(post);

        Assert.Equal(HttpStatusCode.MovedPermanently, getResponse.StatusCode);
        Assert.Equal($"https://api.example.test:{gateway.Port()}/v1/events?device=42&x=a%20b", getResponse.Headers.Location!.OriginalString);
        // 308 keeps the method and the body.
        Assert.Equal(HttpStatusCode.PermanentRedirect, postResponse.StatusCode);
        Assert.Equal($"https://api.example.test:{gateway.Port()}/v1/events", postResponse.Headers.Location!.OriginalString);
        Assert.False(postResponse.Headers.Contains("Strict-Transport-Security"), "HSTS is never sent over plain HTTP");

        // Following it with a validating client ends in the gateway.
        using var secure = TlsGateway.Client("api.example.test", gateway.Port(), _ca.Root);
        using var followed = await secure.PostAsync(postResponse.Headers.Location, new StringContent("{}", null, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, followed.StatusCode);
    }

    [Fact]
    public async Task Hsts_is_on_every_https_response_and_not_on_plain_listeners()
    {
        await using var gateway = await StartAsync();
        using var secure = TlsGateway.Client("api.example.test", gateway.Port(), _ca.Root);
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gateway.Port(1)}") };

        using var accepted = await secure.PostAsync("v1/events", new StringContent("{}", null, "application/json"));
        using var notFound = await secure.GetAsync("nowhere");
        using var plainAccepted = await plain.PostAsync("/v1/events", new StringContent("{}", null, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("max-age=600; includeSubDomains", Assert.Single(accepted.Headers.GetValues("Strict-Transport-Security")));
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("max-age=600; includeSubDomains", Assert.Single(notFound.Headers.GetValues("Strict-Transport-Security")));
        Assert.Equal(HttpStatusCode.Accepted, plainAccepted.StatusCode);
        Assert.False(plainAccepted.Headers.Contains("Strict-Transport-Security"));
    }
}
