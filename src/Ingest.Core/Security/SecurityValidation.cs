using Ingest.Core.Configuration;

namespace Ingest.Core.Security;

/// <summary>Validation of resourcePolicy and trustedProxies.</summary>
public static class SecurityValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        if (config.ResourcePolicy.Allow.Count + config.ResourcePolicy.Deny.Count > 0)
        {
            errors.Add("resourcePolicy: not supported by this build yet; remove the key.");
        }
        if (config.TrustedProxies.Count > 0)
        {
            errors.Add("trustedProxies: not supported by this build yet; remove the key.");
        }
    }
}
