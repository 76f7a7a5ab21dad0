using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Throttling;

public static class ThrottlingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the long-lived state of throttling (bucket stores, Redis connection), shared by all
    /// deployments, and <see cref="QuotaUsage"/> to read quota counts. Uses the registered
    /// <see cref="TimeProvider"/> (default: the system clock).
    /// </summary>
    public static IServiceCollection AddIngestThrottling(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new ThrottleStore(
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>(),
            sp));
        services.TryAddSingleton(sp => new QuotaUsage(sp.GetRequiredService<ThrottleStore>()));
        return services;
    }
}
