using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;

namespace Ingest.Core.Tests.Security;

public class SecurityValidationTests
{
    [Fact]
    public void Every_bad_range_limit_and_cors_setting_is_reported_at_once()
    {
        var config = ConfigLoader.Load("""
            resourcePolicy: { allow: [0.0.0.0/0, "::/0"], deny: [10.0.0.1/8] }
            trustedProxies: [10.0.0.0/8, proxy.local]
            limits: { maxRequestHeaderCount: 0, requestHeadersTimeout: 0s, minRequestBodyDataRate: 100, minRequestBodyDataRateGracePeriod: 1s, maxConcurrentConnections: 0 }
            targets: { sink: { type: blackhole } }
            routes:
              - route: POST /a
                target: sink
                auth: none
                public: true
                resourcePolicy: { allow: ["2001:db8::/129"], deny: [] }
                cors: { origins: ["*"], credentials: true }
              - route: POST /b
                target: sink
                auth: none
                public: true
                cors: { origins: ["https://app.example/", "ftp://x", "https://ok.example:8443"], methods: [POST, FETCH], headers: ["content type"] }
            """);

        var errors = ConfigValidator.Validate(config, new Dictionary<string, ITargetKind>());

        string[] expected =
        [
            "resourcePolicy.deny[0]: '10.0.0.1/8' has bits set past the /8 prefix. Write 10.0.0.0/8",
            "trustedProxies[1]: 'proxy.local' is not an IP address or CIDR range. Write e.g. 10.0.0.0/8",
            "routes[0] (POST /a).resourcePolicy.allow[0]: '2001:db8::/129': the prefix length must be a number from 0 to 128",
            "limits.maxRequestHeaderCount: 0 is outside 1..10000",
            "limits.requestHeadersTimeout: must be above zero",
            "limits.minRequestBodyDataRateGracePeriod: must be above 1s",
            "limits.maxConcurrentConnections: must be at least 1",
            "routes[0] (POST /a).cors.origins[0]: '*' cannot be combined with credentials: true",
            "routes[1] (POST /b).cors.origins[0]: 'https://app.example/' never matches",
            "routes[1] (POST /b).cors.origins[1]: 'ftp://x' is not an origin",
            "routes[1] (POST /b).cors.methods[1]: 'FETCH' must be one of",
            "routes[1] (POST /b).cors.headers[0]: 'content type' is not a header name",
        ];
        foreach (var start in expected)
        {
            Assert.Contains(errors, e => e.StartsWith(start, StringComparison.Ordinal));
        }
        Assert.DoesNotContain(errors, e => e.Contains("not supported by this build yet; remove the key", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("ok.example", StringComparison.Ordinal));
    }

    [Fact]
    public void Example_style_policy_and_proxies_pass()
    {
        var config = ConfigLoader.Load("""
            resourcePolicy: { allow: [0.0.0.0/0, "::/0"], deny: [] }
            trustedProxies: [127.0.0.1, "::1", 10.0.0.0/8]
            limits: { requestHeadersTimeout: 2s, minRequestBodyDataRate: 0 }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /a, target: sink, auth: none, public: true, resourcePolicy: { deny: [192.0.2.0/24] }, cors: { origins: ["https://app.example"], methods: [POST], headers: [content-type], exposeHeaders: [x-request-id], credentials: true } }
            """);

        Assert.Empty(ConfigValidator.Validate(config, new Dictionary<string, ITargetKind>()));
    }
}
