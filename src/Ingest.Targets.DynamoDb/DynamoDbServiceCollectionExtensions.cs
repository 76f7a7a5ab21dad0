using Ingest.Core.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Targets.DynamoDb;

/// <summary>Registration of the <c>dynamodb</c> target kind.</summary>
public static class DynamoDbServiceCollectionExtensions
{
    /// <summary>Registers <see cref="DynamoDbTargetKind"/> as an <see cref="ISyncTargetKind"/> (once, however often called).</summary>
    public static IServiceCollection AddDynamoDbTarget(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISyncTargetKind, DynamoDbTargetKind>());
        return services;
    }
}
