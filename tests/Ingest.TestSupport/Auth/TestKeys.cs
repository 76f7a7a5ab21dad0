using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ingest.TestSupport.Auth;

/// <summary>Signing keys made in the test, their public JWKs, and tokens signed with them.</summary>
internal sealed class TestKey
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly SecurityKey _key;
    private readonly string _algorithm;

    private TestKey(string kid, SecurityKey key, string algorithm, Dictionary<string, string> jwk)
    {
        Kid = kid;
        _key = key;
        _algorithm = algorithm;
        Jwk = jwk;
    }

    public string Kid { get; }

    public Dictionary<string, string> Jwk { get; }

    public static TestKey Rsa(string kid)
    {
        var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        return new TestKey(kid, new RsaSecurityKey(rsa) { KeyId = kid }, SecurityAlgorithms.RsaSha256, new()
        {
            ["kty"] = "RSA",
            ["kid"] = kid,
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["n"] = Base64UrlEncoder.Encode(p.Modulus),
            ["e"] = Base64UrlEncoder.Encode(p.Exponent),
        });
    }

    public static TestKey EcP256(string kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = ec.ExportParameters(false);
        return new TestKey(kid, new ECDsaSecurityKey(ec) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256, new()
        {
            ["kty"] = "EC",
            ["kid"] = kid,
            ["use"] = "sig",
            ["crv"] = "P-256",
            ["x"] = Base64UrlEncoder.Encode(p.Q.X),
            ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
        });
    }

    public static string Jwks(params TestKey[] keys) =>
        JsonSerializer.Serialize(new { keys = keys.Select(k => k.Jwk).ToArray() });

    public string Token(
        DateTimeOffset now,
        string issuer = "https://issuer.test/",
        string audience = "ingest",
        string subject = "user-1",
        TimeSpan? lifetime = null,
        string? scope = null,
        string[]? scp = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        if (scope is not null)
        {
            claims["scope"] = scope;
        }
        if (scp is not null)
        {
            claims["scp"] = scp;
        }
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime.AddSeconds(-1),
            Expires = (now + (lifetime ?? TimeSpan.FromMinutes(15))).UtcDateTime,
            SigningCredentials = new SigningCredentials(_key, _algorithm),
        });
    }
}
