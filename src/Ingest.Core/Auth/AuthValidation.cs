using Ingest.Core.Configuration;

namespace Ingest.Core.Auth;

/// <summary>
/// Validation of apiKeys, iamKeys, hmacKeys, iam/hmac settings, authorizers and each route's auth
/// list and scopes. Every problem is reported, naming where it is and the fix; secret values never
/// appear in a message.
/// </summary>
public static class AuthValidation
{
    /// <summary>The built-in kinds of a route's <c>auth:</c> list; anything else names an authorizer.</summary>
    public static readonly string[] BuiltInKinds = ["none", "apiKey", "iam", "hmac"];

    public static readonly string[] AuthorizerTypes = ["jwt", "http", "lambda"];

    /// <summary>Shortest HMAC device secret accepted, in bytes.</summary>
    public const int MinHmacSecretBytes = 16;

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        ValidateApiKeys(config, errors);
        ValidateIamKeys(config, errors);
        ValidateHmacKeys(config, errors);
        foreach (var (name, authorizer) in config.Authorizers)
        {
            ValidateAuthorizer(name, authorizer, config, errors);
        }
        for (var i = 0; i < config.Routes.Count; i++)
        {
            // WebSocket message routes have no auth of their own: the connection authenticated on $connect.
            if (!WebSockets.WebSocketRouteKey.IsMessageRoute(config.Routes[i].Route))
            {
                ValidateRoute(i, config.Routes[i], config, errors);
            }
        }
    }

    private static void ValidateApiKeys(IngestConfig config, ICollection<string> errors)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<Sha256Key>();
        for (var i = 0; i < config.ApiKeys.Count; i++)
        {
            var key = config.ApiKeys[i];
            var where = $"apiKeys[{i}]" + (key.Id.Length > 0 ? $" ({key.Id})" : "");
            if (string.IsNullOrWhiteSpace(key.Id))
            {
                errors.Add($"{where}.id: missing. Name the key (the access log shows the id, never the key).");
            }
            else if (!ids.Add(key.Id))
            {
                errors.Add($"{where}.id: '{key.Id}' is used by another API key. Give each key its own id.");
            }
            if (!Sha256Key.TryParseHex(key.Sha256, out var hash))
            {
                errors.Add($"{where}.sha256: must be the SHA-256 of the key as 64 hex characters, not the key itself. `ingest keys new --id {(key.Id.Length > 0 ? key.Id : "NAME")}` prints a key and its line.");
            }
            else if (!hashes.Add(hash))
            {
                errors.Add($"{where}.sha256: the same key is listed twice. Remove one of them.");
            }
        }
    }

    private static void ValidateIamKeys(IngestConfig config, ICollection<string> errors)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.IamKeys.Count; i++)
        {
            var key = config.IamKeys[i];
            var where = $"iamKeys[{i}]" + (key.AccessKeyId.Length > 0 ? $" ({key.AccessKeyId})" : "");
            if (string.IsNullOrWhiteSpace(key.AccessKeyId) || key.AccessKeyId.Contains('/'))
            {
                errors.Add($"{where}.accessKeyId: missing or contains '/'. Write the access key id, e.g. AKIDEXAMPLE.");
            }
            else if (!ids.Add(key.AccessKeyId))
            {
                errors.Add($"{where}.accessKeyId: listed twice. Remove one of them.");
            }
            if (string.IsNullOrEmpty(key.SecretAccessKey))
            {
                errors.Add($"{where}.secretAccessKey: missing. Set it from a secret, e.g. \"${{INGEST_IAM_SECRET}}\".");
            }
        }
        if (config.Iam.ClockSkew <= TimeSpan.Zero || config.Iam.ClockSkew > TimeSpan.FromHours(1))
        {
            errors.Add("iam.clockSkew: must be above zero and at most 1h, e.g. 5m.");
        }
    }

    private static void ValidateHmacKeys(IngestConfig config, ICollection<string> errors)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.HmacKeys.Count; i++)
        {
            var key = config.HmacKeys[i];
            var where = $"hmacKeys[{i}]" + (key.Id.Length > 0 ? $" ({key.Id})" : "");
            if (string.IsNullOrWhiteSpace(key.Id))
            {
                errors.Add($"{where}.id: missing. Name the device (clients send it as x-ingest-key-id).");
            }
            else if (!ids.Add(key.Id))
            {
                errors.Add($"{where}.id: '{key.Id}' is used by another device. Give each device its own id.");
            }
            if (System.Text.Encoding.UTF8.GetByteCount(key.Secret) < MinHmacSecretBytes)
            {
                errors.Add($"{where}.secret: missing or shorter than {MinHmacSecretBytes} bytes. Use a random secret, e.g. from `ingest keys new`, via \"${{file:PATH}}\".");
            }
        }
        if (config.Hmac.ReplayWindow <= TimeSpan.Zero || config.Hmac.ReplayWindow > TimeSpan.FromHours(1))
        {
            errors.Add("hmac.replayWindow: must be above zero and at most 1h, e.g. 5m.");
        }
        if (config.Hmac.ReplayCacheEntries < 1000)
        {
            errors.Add("hmac.replayCacheEntries: must be at least 1000, e.g. 1000000.");
        }
    }

    private static void ValidateAuthorizer(string name, AuthorizerOptions authorizer, IngestConfig config, ICollection<string> errors)
    {
        var where = $"authorizers.{name}";
        if (BuiltInKinds.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{where}: '{name}' is a built-in auth kind. Rename the authorizer.");
        }
        switch (authorizer.Type)
        {
            case "jwt":
                ValidateJwt(where, authorizer, errors);
                break;
            case "http":
            case "lambda":
                ValidateCustom(where, authorizer, config, errors);
                break;
            default:
                errors.Add(string.IsNullOrEmpty(authorizer.Type)
                    ? $"{where}.type: missing. Set one of: {string.Join(", ", AuthorizerTypes)}."
                    : $"{where}.type: '{authorizer.Type}' must be one of {string.Join(", ", AuthorizerTypes)}.");
                break;
        }
        if (authorizer.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromSeconds(30)))
        {
            errors.Add($"{where}.timeout: must be above zero and at most 30s, e.g. 10s.");
        }
    }

    private static void ValidateJwt(string where, AuthorizerOptions jwt, ICollection<string> errors)
    {
        if (string.IsNullOrWhiteSpace(jwt.Issuer))
        {
            errors.Add($"{where}.issuer: missing. Set the token issuer (the iss claim), e.g. https://auth.example.com/.");
        }
        if (string.IsNullOrWhiteSpace(jwt.Audience))
        {
            errors.Add($"{where}.audience: missing. Set the audience tokens are issued for (the aud claim).");
        }
        if (jwt.Jwks is { } jwks)
        {
            var isFile = jwks.StartsWith("file:", StringComparison.Ordinal) && jwks.Length > 5;
            if (!isFile && !IsHttpUrl(jwks))
            {
                errors.Add($"{where}.jwks: '{jwks}' must be file:PATH or an http(s) URL of the key set. Omit it to use the issuer's OIDC discovery.");
            }
        }
        else if (!string.IsNullOrWhiteSpace(jwt.Issuer) && !IsHttpUrl(jwt.Issuer))
        {
            errors.Add($"{where}.issuer: without jwks the keys are found by OIDC discovery, so the issuer must be an http(s) URL. Set jwks: file:PATH or a URL.");
        }
        if (jwt.RefreshInterval is { } refresh && refresh < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{where}.refreshInterval: must be at least 1s, e.g. 10m.");
        }
        if (jwt.ClockSkew is { } skew && (skew < TimeSpan.Zero || skew > TimeSpan.FromHours(1)))
        {
            errors.Add($"{where}.clockSkew: must be between 0s and 1h, e.g. 5m.");
        }
        NotFor(where, "url", jwt.Url, "http", errors);
        NotFor(where, "function", jwt.Function, "lambda", errors);
        NotFor(where, "identitySource", jwt.IdentitySource, "http and lambda", errors);
        NotFor(where, "cacheTtl", jwt.CacheTtl, "http and lambda", errors);
        NotFor(where, "cacheEntries", jwt.CacheEntries, "http and lambda", errors);
    }

    private static void ValidateCustom(string where, AuthorizerOptions custom, IngestConfig config, ICollection<string> errors)
    {
        if (custom.Type == "http")
        {
            if (string.IsNullOrWhiteSpace(custom.Url))
            {
                errors.Add($"{where}.url: missing. Set the URL the gateway POSTs authorization requests to.");
            }
            else if (!IsHttpUrl(custom.Url))
            {
                errors.Add($"{where}.url: '{custom.Url}' is not an absolute http(s) URL.");
            }
            NotFor(where, "function", custom.Function, "lambda", errors);
        }
        else
        {
            if (string.IsNullOrWhiteSpace(custom.Function))
            {
                errors.Add($"{where}.function: missing. Name the Lambda function (name or ARN).");
            }
            if (string.IsNullOrEmpty(config.Aws.AccessKeyId) || string.IsNullOrEmpty(config.Aws.SecretAccessKey))
            {
                errors.Add($"{where}: lambda authorizers sign with aws.accessKeyId and aws.secretAccessKey; set both (from ${{VAR}} secrets).");
            }
            if (config.Aws.Endpoints.TryGetValue("lambda", out var endpoint) && !IsHttpUrl(endpoint))
            {
                errors.Add($"aws.endpoints.lambda: '{endpoint}' is not an absolute http(s) URL.");
            }
            NotFor(where, "url", custom.Url, "http", errors);
        }
        if (!IdentitySource.TryParseList(custom.IdentitySource, out _, out var error))
        {
            errors.Add($"{where}.identitySource: {error}. Write e.g. header:authorization (several separated by commas).");
        }
        if (custom.CacheTtl is { } ttl && (ttl < TimeSpan.Zero || ttl > TimeSpan.FromHours(1)))
        {
            errors.Add($"{where}.cacheTtl: must be between 0s (no caching) and 1h, e.g. 300s.");
        }
        if (custom.CacheEntries is < 1)
        {
            errors.Add($"{where}.cacheEntries: must be at least 1, e.g. 10000.");
        }
        NotFor(where, "issuer", custom.Issuer, "jwt", errors);
        NotFor(where, "audience", custom.Audience, "jwt", errors);
        NotFor(where, "jwks", custom.Jwks, "jwt", errors);
        NotFor(where, "refreshInterval", custom.RefreshInterval, "jwt", errors);
        NotFor(where, "clockSkew", custom.ClockSkew, "jwt", errors);
    }

    private static void ValidateRoute(int index, RouteOptions route, IngestConfig config, ICollection<string> errors)
    {
        var where = $"routes[{index}] ({route.Route})";
        if (route.Auth.Count == 0)
        {
            errors.Add($"{where}.auth: missing. Say how clients authenticate, or 'auth: none' with 'public: true' for an open route.");
        }
        else if (route.Auth.Contains("none"))
        {
            if (route.Auth.Count > 1)
            {
                errors.Add($"{where}.auth: 'none' cannot be combined with other kinds.");
            }
            else if (!route.Public)
            {
                errors.Add($"{where}.public: a route with 'auth: none' must say 'public: true' (an allow-all resource policy does not count).");
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var hasJwt = false;
        foreach (var kind in route.Auth)
        {
            if (!seen.Add(kind))
            {
                errors.Add($"{where}.auth: '{kind}' is listed twice. List each kind once.");
                continue;
            }
            switch (kind)
            {
                case "none":
                    break;
                case "apiKey" when config.ApiKeys.Count == 0:
                    errors.Add($"{where}.auth: apiKey needs at least one entry under apiKeys. Add one (`ingest keys new` prints it).");
                    break;
                case "iam" when config.IamKeys.Count == 0:
                    errors.Add($"{where}.auth: iam needs at least one entry under iamKeys ({{ accessKeyId, secretAccessKey }}).");
                    break;
                case "hmac" when config.HmacKeys.Count == 0:
                    errors.Add($"{where}.auth: hmac needs at least one entry under hmacKeys ({{ id, secret }}).");
                    break;
                case "apiKey" or "iam" or "hmac":
                    break;
                default:
                    if (config.Authorizers.TryGetValue(kind, out var authorizer))
                    {
                        hasJwt |= authorizer.Type == "jwt";
                    }
                    else
                    {
                        var near = BuiltInKinds.FirstOrDefault(k => string.Equals(k, kind, StringComparison.OrdinalIgnoreCase));
                        var defined = config.Authorizers.Count > 0 ? $" (defined: {string.Join(", ", config.Authorizers.Keys)})" : "";
                        errors.Add(near is not null
                            ? $"{where}.auth: '{kind}' is not a kind; write '{near}' (kinds are case-sensitive)."
                            : $"{where}.auth: '{kind}' is not an auth kind. Use none, apiKey, iam, hmac or the name of an authorizer{defined}.");
                    }
                    break;
            }
        }
        if (route.Scopes is { } scopes)
        {
            if (!hasJwt)
            {
                errors.Add($"{where}.scopes: only jwt authorizers check scopes. Add a jwt authorizer to the route's auth, or remove scopes.");
            }
            if (scopes.Any(s => string.IsNullOrWhiteSpace(s) || s.Contains(' ')))
            {
                errors.Add($"{where}.scopes: every scope must be one non-empty word, e.g. [orders:write].");
            }
        }
    }

    private static void NotFor<T>(string where, string key, T? value, string types, ICollection<string> errors)
    {
        if (value is not null)
        {
            errors.Add($"{where}.{key}: applies to {types} authorizers only. Remove it.");
        }
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
