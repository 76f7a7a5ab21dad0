using Ingest.Core.Configuration;

namespace Ingest.Core.Throttling;

/// <summary>Validation of throttle, usagePlans, redis and route throttles.</summary>
public static class ThrottleValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        if (config.Redis is not null)
        {
            errors.Add("redis: not supported by this build yet; remove the key.");
        }
        if (config.Throttle is not null)
        {
            errors.Add("throttle: not supported by this build yet; remove the key.");
        }
        if (config.UsagePlans.Count > 0)
        {
            errors.Add("usagePlans: not supported by this build yet; remove the key.");
        }
        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Throttle is not null)
            {
                errors.Add($"routes[{i}] ({config.Routes[i].Route}).throttle: not supported by this build yet; remove the key.");
            }
        }
    }
}
