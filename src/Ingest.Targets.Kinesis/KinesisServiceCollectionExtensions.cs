using Ingest.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Targets.Kinesis;

/// <summary>Registration of the kinesis target kind.</summary>
public static class KinesisServiceCollectionExtensions
{
    /// <summary>Registers <see cref="KinesisTargetKind"/> as an <see cref="ITargetKind"/> (once, however often called).</summary>
    public static IServiceCollection AddKinesisTarget(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetKind, KinesisTargetKind>());
        return services;
    }
}
