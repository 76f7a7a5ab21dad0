using Ingest.Core.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Targets.Lambda;

public static class LambdaServiceCollectionExtensions
{
    /// <summary>Registers <c>type: lambda</c>.</summary>
    public static IServiceCollection AddLambdaTarget(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISyncTargetKind, LambdaTargetKind>());
        return services;
    }
}
