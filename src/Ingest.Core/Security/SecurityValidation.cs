using Ingest.Core.Configuration;
using Ingest.Core.Cors;

namespace Ingest.Core.Security;

/// <summary>Validation of resourcePolicy, trustedProxies, limits and the routes' CORS settings.</summary>
public static class SecurityValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        Ranges("resourcePolicy.allow", config.ResourcePolicy.Allow, errors);
        Ranges("resourcePolicy.deny", config.ResourcePolicy.Deny, errors);
        Ranges("trustedProxies", config.TrustedProxies, errors);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            if (route.ResourcePolicy is { } policy)
            {
                var where = $"routes[{i}] ({route.Route}).resourcePolicy";
                Ranges($"{where}.allow", policy.Allow, errors);
                Ranges($"{where}.deny", policy.Deny, errors);
            }
        }
        ConnectionLimits.Validate(config.Limits, errors);
        CorsValidation.Validate(config, errors);
    }

    private static void Ranges(string where, List<string> ranges, ICollection<string> errors)
    {
        for (var i = 0; i < ranges.Count; i++)
        {
            if (!CidrList.TryParse(ranges[i], out _, out _, out var error))
            {
                errors.Add($"{where}[{i}]: {error}.");
            }
        }
    }
}
