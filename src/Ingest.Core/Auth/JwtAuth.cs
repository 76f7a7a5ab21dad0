using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ingest.Core.Auth;

/// <summary>
/// A <c>type: jwt</c> authorizer: <c>Authorization: Bearer</c> token signed by a key of the JWKS,
/// with the configured issuer and audience, within exp/nbf (give or take <c>clockSkew</c>), and
/// holding every scope the route lists. Missing or invalid token: 401; missing scope: 403.
/// </summary>
internal sealed class JwtAuth : AuthStep
{
    /// <summary>Default of <c>clockSkew</c>.</summary>
    public static readonly TimeSpan DefaultClockSkew = TimeSpan.FromMinutes(5);

    // Asymmetric algorithms only: a JWKS publishes public keys, and HS*/none must never pass.
    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    private readonly string _name;
    private readonly AuthorizerOptions _options;
    private readonly JwksSource _keys;
    private readonly string[] _scopes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile Parameters? _parameters;

    public JwtAuth(string name, AuthorizerOptions options, JwksSource keys, string[] scopes, TimeProvider time, ILogger logger)
    {
        _name = name;
        _options = options;
        _keys = keys;
        _scopes = scopes;
        _time = time;
        _logger = logger;
        keys.WarmUp();
    }

    public override async ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken)
    {
        var header = context.Http.Request.Headers.Authorization;
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthRejections.JwtMissing;
        }
        JsonWebToken token;
        try
        {
            token = new JsonWebToken(value.AsSpan(7).Trim().ToString());
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException)
        {
            return AuthRejections.JwtMalformed;
        }

        var keys = await _keys.GetAsync(token.Kid, cancellationToken);
        if (keys is null)
        {
            AuthLog.AuthorizerFailed(_logger, _name, "no signing keys loaded from the JWKS");
            return AuthRejections.AuthorizerFailed("jwt: JWKS unavailable");
        }
        var result = await Handler.ValidateTokenAsync(token, ParametersFor(keys));
        if (!result.IsValid)
        {
            // The exception type says what failed (expired, bad signature, audience...); its
            // message may quote claims, so it stays out of the log.
            return AuthRejections.JwtInvalid(result.Exception?.GetType().Name ?? "invalid token");
        }
        if (_scopes.Length > 0 && !HasScopes(token))
        {
            return AuthRejections.ScopeMissing;
        }
        context.Principal = string.IsNullOrEmpty(token.Subject) ? null : token.Subject;
        return null;
    }

    private bool HasScopes(JsonWebToken token)
    {
        var granted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in token.Claims)
        {
            if (claim.Type is "scope" or "scp")
            {
                granted.UnionWith(claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }
        foreach (var scope in _scopes)
        {
            if (!granted.Contains(scope))
            {
                return false;
            }
        }
        return true;
    }

    private TokenValidationParameters ParametersFor(JwksSnapshot keys)
    {
        var cached = _parameters;
        if (cached is not null && ReferenceEquals(cached.Keys, keys))
        {
            return cached.Validation;
        }
        var validation = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKeys = keys.Keys,
            ValidAlgorithms = Algorithms,
            ClockSkew = _options.ClockSkew ?? DefaultClockSkew,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            // Lifetime against the gateway's TimeProvider (tests run on a fake clock).
            LifetimeValidator = ValidateLifetime,
        };
        _parameters = new Parameters(keys, validation);
        return validation;
    }

    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var skew = parameters.ClockSkew;
        return expires is { } exp && now <= exp.ToUniversalTime() + skew
            && (notBefore is not { } nbf || now >= nbf.ToUniversalTime() - skew);
    }

    private sealed record Parameters(JwksSnapshot Keys, TokenValidationParameters Validation);
}
