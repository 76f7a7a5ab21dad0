using Ingest.Core.Configuration;

namespace Ingest.Core.Auth;

/// <summary>Validation of apiKeys, iamKeys, hmacKeys, authorizers and each route's auth list and scopes.</summary>
public static class AuthValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        foreach (var (key, used) in new[]
        {
            ("apiKeys", config.ApiKeys.Count > 0),
            ("iamKeys", config.IamKeys.Count > 0),
            ("hmacKeys", config.HmacKeys.Count > 0),
            ("authorizers", config.Authorizers.Count > 0),
        })
        {
            if (used)
            {
                errors.Add($"{key}: not supported by this build yet; remove the key.");
            }
        }
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var where = $"routes[{i}] ({route.Route})";
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
            else
            {
                errors.Add($"{where}.auth: {string.Join(", ", route.Auth)} is not supported by this build yet; use 'auth: none' with 'public: true'.");
            }
            if (route.Scopes is not null)
            {
                errors.Add($"{where}.scopes: not supported by this build yet; remove the key.");
            }
        }
    }
}
