using System.Net;
using Ingest.Core.Configuration;

namespace Ingest.Core.Security;

/// <summary>
/// Safe defaults of the admin port: it binds loopback unless configured otherwise, and an admin
/// port other machines can reach must have a token (the admin API always needs it).
/// </summary>
public static class AdminListenerValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        if (!IPEndPoint.TryParse(config.Admin.Listen, out var endPoint))
        {
            return; // reported with the listeners
        }
        if (!IPAddress.IsLoopback(endPoint.Address) && string.IsNullOrEmpty(config.Admin.Token))
        {
            errors.Add($"admin.listen: {config.Admin.Listen} is reachable from other machines, but admin.token is not set. " +
                "Set token: \"${INGEST_ADMIN_TOKEN}\", or listen on 127.0.0.1:9090.");
        }
    }
}
