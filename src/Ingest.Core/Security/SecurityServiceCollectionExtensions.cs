using Ingest.Core.Firewall;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Core.Security;

public static class SecurityServiceCollectionExtensions
{
    /// <summary>Registers the long-lived state of resource policy and request inspection, shared by all deployments.</summary>
    public static IServiceCollection AddIngestSecurity(this IServiceCollection services) => services.AddIngestFirewall();
}
