using Ingest.Core.Configuration;
using Ingest.Core.Tls;
using Ingest.TestSupport.Tls;

namespace Ingest.Core.Tests.Tls;

public sealed class TlsValidationTests : IDisposable
{
    private readonly TestCertificates _ca = new();

    public void Dispose() => _ca.Dispose();

    private static List<string> Validate(string yaml, Func<string, string?>? environment = null)
    {
        var errors = new List<string>();
        TlsValidation.Validate(ConfigLoader.Load(yaml, environment: environment), errors);
        return errors;
    }

    private (string Pem, string Key) Files(string name, params string[] dnsNames)
    {
        using var certificate = _ca.Issue(dnsNames);
        return _ca.WritePem(certificate, name);
    }

    [Fact]
    public void A_listener_with_pem_pfx_wildcard_and_every_option_is_valid()
    {
        var (pem, key) = Files("api", "api.example.test");
        var (wildPem, wildKey) = Files("wild", "*.example.test");
        using var pfxCertificate = _ca.Issue(["pfx.example.test"]);
        var pfx = _ca.WritePfx(pfxCertificate, "pfx", "s3cret-pfx");

        var errors = Validate($$"""
            listen:
              - address: 0.0.0.0:8443
                protocols: http1AndHttp2
                tls:
                  certificates:
                    - { host: api.example.test, pem: "{{pem}}", key: "{{key}}" }
                    - { host: "*.example.test", pem: "{{wildPem}}", key: "{{wildKey}}" }
                    - { host: pfx.example.test, pfx: "{{pfx}}", password: "${PFX_PASSWORD}" }
                  minVersion: tls13
                  redirectHttp: 0.0.0.0:8080
                  hsts: { maxAge: 365d, includeSubDomains: true, preload: true }
                  reloadInterval: 30s
            """, name => name == "PFX_PASSWORD" ? "s3cret-pfx" : null);

        Assert.Empty(errors);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_where_and_the_fix()
    {
        var (pem, key) = Files("api", "api.example.test");
        var (otherPem, otherKey) = Files("other", "other.example.test");
        var errors = Validate($$"""
            listen:
              - { address: 127.0.0.1:8080 }
              - address: 0.0.0.0:8443
                tls:
                  minVersion: tls11
                  redirectHttp: 127.0.0.1:8080
                  reloadInterval: 10ms
                  hsts: { maxAge: 30d, preload: true }
                  certificates:
                    - { host: api.example.test, pem: "{{pem}}", key: "{{key}}" }
                    - { host: api.example.test, pem: "{{otherPem}}", key: "{{otherKey}}" }
                    - { host: "https://bad/", pem: "{{pem}}", key: "{{key}}" }
                    - { host: x.example.test }
                    - { host: y.example.test, pem: "{{pem}}", pfx: "{{pem}}" }
                    - { pem: "{{pem}}", key: "{{otherKey}}" }
                    - { host: z.example.test, pem: "/nonexistent/z.pem", key: "/nonexistent/z.key" }
                    - { host: w.example.test, pfx: "{{pem}}", password: "written-in-the-file" }
              - { address: 0.0.0.0:9443, tls: { certificates: [] } }
            """);

        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.minVersion: 'tls11' must be tls12 or tls13", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.redirectHttp: 127.0.0.1:8080 is already used", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.reloadInterval: must be at least 100ms", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.hsts.preload:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.certificates[1] (api.example.test): the certificate is for other.example.test, not api.example.test", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.certificates[2] (https://bad/).host: 'https://bad/' is not a host name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.certificates[3] (x.example.test): set either pem (with key) or pfx, not neither", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.certificates[4] (y.example.test): set either pem (with key) or pfx, not both", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.certificates[5]: cannot read the certificate", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.certificates[6] (z.example.test): cannot read the certificate (", StringComparison.Ordinal) && e.Contains("does not exist", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[1].tls.certificates[7] (w.example.test).password: write it as \"${VAR}\" or \"${file:PATH}\"", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("listen[2].tls.certificates: list at least one", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("written-in-the-file", StringComparison.Ordinal));
        Assert.Equal(12, errors.Count);
    }

    [Fact]
    public void A_host_served_twice_on_one_listener_is_an_error()
    {
        var (pem, key) = Files("api", "api.example.test");
        var (bothPem, bothKey) = Files("both", "api.example.test", "www.example.test");

        var errors = Validate($$"""
            listen:
              - address: 0.0.0.0:8443
                tls:
                  certificates:
                    - { host: api.example.test, pem: "{{pem}}", key: "{{key}}" }
                    - { pem: "{{bothPem}}", key: "{{bothKey}}" }
            """);

        Assert.Equal("listen[0].tls.certificates[1].host: api.example.test is served by an earlier certificate of this listener already. Remove one of them.", Assert.Single(errors));
    }

    [Fact]
    public void A_wrong_pfx_password_is_reported_without_the_password()
    {
        using var certificate = _ca.Issue(["pfx.example.test"]);
        var pfx = _ca.WritePfx(certificate, "pfx", "the-right-one");

        var errors = Validate($$"""
            listen:
              - { address: 0.0.0.0:8443, tls: { certificates: [{ pfx: "{{pfx}}", password: "${P}" }] } }
            """, _ => "the-wrong-one");

        var error = Assert.Single(errors);
        Assert.StartsWith("listen[0].tls.certificates[0]: cannot read the certificate (", error, StringComparison.Ordinal);
        Assert.DoesNotContain("the-wrong-one", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("*.example.com", "api.example.com", true)]
    [InlineData("*.example.com", "API.EXAMPLE.COM", true)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("api.example.com", "api.example.com", true)]
    [InlineData("api.example.com", "www.example.com", false)]
    public void Wildcards_match_one_label(string pattern, string host, bool matches) =>
        Assert.Equal(matches, CertificateFiles.Matches(pattern, host));
}
