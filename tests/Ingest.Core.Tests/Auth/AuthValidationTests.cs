using Ingest.Core.Auth;
using Ingest.Core.Configuration;

namespace Ingest.Core.Tests.Auth;

public class AuthValidationTests
{
    private static List<string> Validate(string yaml)
    {
        var errors = new List<string>();
        AuthValidation.Validate(ConfigLoader.Load(yaml), errors);
        return errors;
    }

    [Fact]
    public void The_example_auth_section_is_valid()
    {
        var errors = Validate("""
            aws: { region: us-east-1, accessKeyId: test, secretAccessKey: test }
            apiKeys:
              - { id: fleet-a, sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b }
            iamKeys:
              - { accessKeyId: AKIDEXAMPLE, secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
            hmacKeys:
              - { id: device-42, secret: "0123456789abcdef0123" }
            iam: { clockSkew: 2m }
            hmac: { replayWindow: 1m, replayCacheEntries: 50000 }
            authorizers:
              devices-jwt: { type: jwt, issuer: "https://auth.example.com/", audience: ingest, jwks: "file:./jwks.json", refreshInterval: 5m }
              discovered: { type: jwt, issuer: "https://auth.example.com/", audience: ingest }
              partner-check: { type: http, url: "http://127.0.0.1:7000/authorize", identitySource: "header:authorization", cacheTtl: 300s }
              fn-check: { type: lambda, function: my-authorizer, identitySource: "header:x-token, query:t" }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
              - { route: POST /v1/a, target: sink, auth: [apiKey, hmac] }
              - { route: POST /v1/b, target: sink, auth: [iam] }
              - { route: "ANY /orders/{proxy+}", target: sink, auth: [devices-jwt], scopes: [orders:write] }
              - { route: POST /v1/c, target: sink, auth: [partner-check, fn-check] }
            """);

        Assert.Empty(errors);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_where_and_how_to_fix()
    {
        var errors = Validate("""
            apiKeys:
              - { id: a, sha256: "my-plain-secret-key" }
              - { id: a, sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b }
            iamKeys:
              - { accessKeyId: AKID1, secretAccessKey: "" }
            hmacKeys:
              - { id: dev, secret: "short-secret" }
              - { id: dev, secret: "another-long-enough-secret" }
            authorizers:
              j1: { type: jwt }
              j2: { type: jwt, issuer: "not a url", audience: x }
              j3: { type: jwt, issuer: "https://i/", audience: x, jwks: "ftp://keys" }
              h1: { type: http }
              h2: { type: http, url: "http://x/", identitySource: "cookie:session" }
              l1: { type: lambda }
              s1: { type: saml }
              apiKey: { type: http, url: "http://x/" }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /a, target: sink, auth: [apikey] }
              - { route: POST /b, target: sink, auth: [nobody] }
              - { route: POST /c, target: sink, auth: [h2], scopes: [orders:write] }
              - { route: POST /d, target: sink, auth: none }
              - { route: POST /e, target: sink, auth: [h2, h2] }
            """);

        string[] expected =
        [
            "apiKeys[0] (a).sha256: must be the SHA-256 of the key as 64 hex characters",
            "apiKeys[1] (a).id: 'a' is used by another API key",
            "iamKeys[0] (AKID1).secretAccessKey: missing",
            "hmacKeys[0] (dev).secret: missing or shorter than 16 bytes",
            "hmacKeys[1] (dev).id: 'dev' is used by another device",
            "authorizers.j1.issuer: missing",
            "authorizers.j1.audience: missing",
            "authorizers.j2.issuer: without jwks the keys are found by OIDC discovery",
            "authorizers.j3.jwks: 'ftp://keys' must be file:PATH or an http(s) URL",
            "authorizers.h1.url: missing",
            "authorizers.h2.identitySource: 'cookie:session' is not header:NAME or query:NAME",
            "authorizers.l1.function: missing",
            "authorizers.l1: lambda authorizers sign with aws.accessKeyId and aws.secretAccessKey",
            "authorizers.s1.type: 'saml' must be one of jwt, http, lambda",
            "authorizers.apiKey: 'apiKey' is a built-in auth kind",
            "routes[0] (POST /a).auth: 'apikey' is not a kind; write 'apiKey'",
            "routes[1] (POST /b).auth: 'nobody' is not an auth kind",
            "routes[2] (POST /c).scopes: only jwt authorizers check scopes",
            "routes[3] (POST /d).public: a route with 'auth: none' must say 'public: true'",
            "routes[4] (POST /e).auth: 'h2' is listed twice",
        ];
        foreach (var message in expected)
        {
            Assert.Contains(errors, e => e.StartsWith(message, StringComparison.Ordinal));
        }
        Assert.Equal(expected.Length, errors.Count);
        Assert.DoesNotContain(errors, e => e.Contains("my-plain-secret-key", StringComparison.Ordinal) || e.Contains("short-secret", StringComparison.Ordinal));
    }

    [Fact]
    public void Kinds_need_their_keys()
    {
        var errors = Validate("""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /a, target: sink, auth: [apiKey] }
              - { route: POST /b, target: sink, auth: [iam] }
              - { route: POST /c, target: sink, auth: [hmac] }
            """);

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("apiKey needs at least one entry under apiKeys", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("iam needs at least one entry under iamKeys", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("hmac needs at least one entry under hmacKeys", StringComparison.Ordinal));
    }

    [Fact]
    public void Keys_of_other_authorizer_types_are_pointed_out()
    {
        var errors = Validate("""
            authorizers:
              j: { type: jwt, issuer: "https://i/", audience: a, url: "http://x/" }
              h: { type: http, url: "http://x/", jwks: "file:k.json" }
            targets: { sink: { type: blackhole } }
            routes: [{ route: POST /a, target: sink, auth: [j, h] }]
            """);

        Assert.Equal(
        [
            "authorizers.j.url: applies to http authorizers only. Remove it.",
            "authorizers.h.jwks: applies to jwt authorizers only. Remove it.",
        ], errors);
    }
}
