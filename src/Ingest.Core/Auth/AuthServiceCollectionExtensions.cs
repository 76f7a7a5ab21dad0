using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>
    /// Registers the long-lived state of authentication, shared by all deployments: the JWKS cache,
    /// custom authorizer result caches, the HMAC replay cache and the HTTP client they use. Uses the
    /// registered <see cref="TimeProvider"/> (default: system clock).
    /// </summary>
    public static IServiceCollection AddIngestAuth(this IServiceCollection services)
    {
        services.TryAddSingleton<AuthHttpClient>();
        services.TryAddSingleton(sp => new JwksCache(sp.GetRequiredService<AuthHttpClient>(), Time(sp), sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new AuthorizerCaches(Time(sp)));
        services.TryAddSingleton(sp => new ReplayCache(Time(sp)));
        return services;
    }

    private static TimeProvider Time(IServiceProvider services) => services.GetService<TimeProvider>() ?? TimeProvider.System;
}
