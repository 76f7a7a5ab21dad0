using System.Net;
using System.Security.Authentication;
using Ingest.TestSupport.Tls;

namespace Ingest.Gateway.Tests.Tls;

/// <summary>
/// Real TLS handshakes against the gateway (certificates made in the test, clients that trust only
/// the test root): HTTP/1.1 and HTTP/2 by ALPN, certificate per host name (SNI) with wildcard and
/// default, and the validating client's refusals. Each test runs in well under 2 s.
/// </summary>
public sealed class TlsHandshakeTests : IDisposable
{
    private readonly TestCertificates _ca = new();

    public void Dispose() => _ca.Dispose();

    private string Certificate(string name, string[] dnsNames, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var certificate = _ca.Issue(dnsNames, notBefore, notAfter);
        var (pem, key) = _ca.WritePem(certificate, name);
        return $"{{ pem: \"{pem}\", key: \"{key}\" }}";
    }

    private static string Host(string host, string files) => files.Replace("{ ", $"{{ host: \"{host}\", ", StringComparison.Ordinal);

    private Task<TlsGateway> StartAsync(string certificates, string extra = "") => TlsGateway.StartAsync($$"""
        listen:
          - { address: "127.0.0.1:0", protocols: http1AndHttp2, tls: { certificates: [{{certificates.ReplaceLineEndings(" ")}}]{{extra}} } }
        """);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task The_right_host_is_served_over_http1_and_http2(int major)
    {
        await using var gateway = await StartAsync(Host("api.example.test", Certificate("api", ["api.example.test"])));
        using var client = TlsGateway.Client("api.example.test", gateway.Port(), _ca.Root, new Version(major, major == 1 ? 1 : 0));

        using var response = await client.PostAsync("v1/events", new StringContent("""{"temp":21}""", null, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(new Version(major, major == 1 ? 1 : 0), response.Version);
    }

    [Fact]
    public async Task A_validating_client_refuses_the_certificate_of_another_host()
    {
        await using var gateway = await StartAsync(Host("api.example.test", Certificate("api", ["api.example.test"])));

        // The name is not on the listener: the default certificate (api.example.test) answers, and the client refuses it.
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => TlsGateway.ValidatingHandshakeAsync(gateway.Port(), "other.example.test", _ca.Root));
        Assert.Contains("RemoteCertificateNameMismatch", refused.Message, StringComparison.Ordinal);
        // Control: the same client accepts the right name.
        await TlsGateway.ValidatingHandshakeAsync(gateway.Port(), "api.example.test", _ca.Root);
    }

    [Fact]
    public async Task A_validating_client_refuses_an_expired_certificate()
    {
        var expired = Host("old.example.test", Certificate("old", ["old.example.test"], DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1)));
        var valid = Host("api.example.test", Certificate("api", ["api.example.test"]));
        await using var gateway = await StartAsync($"{valid}, {expired}");

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => TlsGateway.ValidatingHandshakeAsync(gateway.Port(), "old.example.test", _ca.Root));
        Assert.Contains("NotTimeValid", refused.Message, StringComparison.Ordinal);
        using var presented = await TlsGateway.PresentedCertificateAsync(gateway.Port(), "old.example.test");
        Assert.True(presented.NotAfter < DateTime.Now, "the expired certificate is the one presented");
        await TlsGateway.ValidatingHandshakeAsync(gateway.Port(), "api.example.test", _ca.Root);

        // Operators see it coming: seconds to expiry per host on the admin port.
        using var admin = new HttpClient { BaseAddress = new Uri($"http://{gateway.Endpoints.AdminEndPoint}") };
        var scrape = await admin.GetStringAsync("/metrics");
        var expiry = scrape.Split('\n').Where(l => l.StartsWith("ingest_tls_certificate_expiry_seconds{", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, expiry.Count);
        Assert.True(SampleValue(expiry.Single(l => l.Contains("host=\"old.example.test\"", StringComparison.Ordinal))) < -86000);
        Assert.True(SampleValue(expiry.Single(l => l.Contains("host=\"api.example.test\"", StringComparison.Ordinal))) > 86 * 86400);
    }

    private static double SampleValue(string line) =>
        double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Sni_picks_the_certificate_of_the_name_then_a_wildcard_then_the_default()
    {
        using var api = _ca.Issue(["api.example.test"]);
        using var wildcard = _ca.Issue(["*.tenants.example.test"]);
        using var other = _ca.Issue(["other.example.test", "alias.example.test"]);
        var (apiPem, apiKey) = _ca.WritePem(api, "api");
        var (wildPem, wildKey) = _ca.WritePem(wildcard, "wild");
        var (otherPem, otherKey) = _ca.WritePem(other, "other");
        await using var gateway = await StartAsync($$"""
            { host: api.example.test, pem: "{{apiPem}}", key: "{{apiKey}}" },
            { host: "*.tenants.example.test", pem: "{{wildPem}}", key: "{{wildKey}}" },
            { pem: "{{otherPem}}", key: "{{otherKey}}" }
            """);
        var port = gateway.Port();

        async Task<string> Served(string? name)
        {
            using var certificate = await TlsGateway.PresentedCertificateAsync(port, name);
            return certificate.Thumbprint;
        }

        Assert.Equal(api.Thumbprint, await Served("api.example.test"));
        Assert.Equal(api.Thumbprint, await Served("API.Example.Test"));
        Assert.Equal(wildcard.Thumbprint, await Served("acme.tenants.example.test"));
        // Without host: the certificate's own names.
        Assert.Equal(other.Thumbprint, await Served("other.example.test"));
        Assert.Equal(other.Thumbprint, await Served("alias.example.test"));
        // A wildcard covers one label only; unknown names and clients without SNI get the first certificate.
        Assert.Equal(api.Thumbprint, await Served("a.b.tenants.example.test"));
        Assert.Equal(api.Thumbprint, await Served("unknown.example.test"));
        Assert.Equal(api.Thumbprint, await Served(null));
        using var client = TlsGateway.Client("acme.tenants.example.test", port, _ca.Root, HttpVersion.Version20);
        using var response = await client.PostAsync("v1/events", new StringContent("{}", null, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Tls12_is_the_default_minimum_and_tls13_only_refuses_a_tls12_client()
    {
        var certificate = Host("api.example.test", Certificate("api", ["api.example.test"]));
        await using (var defaults = await StartAsync(certificate))
        {
            Assert.Equal(SslProtocols.Tls12, await TlsGateway.ValidatingHandshakeAsync(defaults.Port(), "api.example.test", _ca.Root, SslProtocols.Tls12));
            Assert.Equal(SslProtocols.Tls13, await TlsGateway.ValidatingHandshakeAsync(defaults.Port(), "api.example.test", _ca.Root, SslProtocols.Tls13));
        }
        await using var strict = await StartAsync(certificate, ", minVersion: tls13");
        await Assert.ThrowsAnyAsync<Exception>(() => TlsGateway.ValidatingHandshakeAsync(strict.Port(), "api.example.test", _ca.Root, SslProtocols.Tls12));
        Assert.Equal(SslProtocols.Tls13, await TlsGateway.ValidatingHandshakeAsync(strict.Port(), "api.example.test", _ca.Root, SslProtocols.Tls13));
    }

    [Fact]
    public async Task A_pfx_and_an_encrypted_pem_key_load_with_their_password_from_the_environment()
    {
        using var api = _ca.Issue(["api.example.test"]);
        using var pfxCertificate = _ca.Issue(["pfx.example.test"]);
        var (pem, _) = _ca.WritePem(api, "api");
        var encryptedKey = _ca.WriteEncryptedKey(api, "api", "key-password-1");
        var pfx = _ca.WritePfx(pfxCertificate, "pfx", "pfx-password-1");
        var secrets = Path.Combine(_ca.Directory, "pfx-password");
        await File.WriteAllTextAsync(secrets, "pfx-password-1\n");
        Environment.SetEnvironmentVariable("INGEST_TEST_TLS_KEY_PASSWORD", "key-password-1");
        await using var gateway = await StartAsync($$"""
            { host: api.example.test, pem: "{{pem}}", key: "{{encryptedKey}}", password: "${INGEST_TEST_TLS_KEY_PASSWORD}" },
            { host: pfx.example.test, pfx: "{{pfx}}", password: "${file:{{secrets}}}" }
            """);

        using var servedPem = await TlsGateway.PresentedCertificateAsync(gateway.Port(), "api.example.test");
        using var servedPfx = await TlsGateway.PresentedCertificateAsync(gateway.Port(), "pfx.example.test");
        Assert.Equal(api.Thumbprint, servedPem.Thumbprint);
        Assert.Equal(pfxCertificate.Thumbprint, servedPfx.Thumbprint);
    }
}
