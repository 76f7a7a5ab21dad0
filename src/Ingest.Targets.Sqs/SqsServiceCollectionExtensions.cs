using Ingest.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Targets.Sqs;

/// <summary>Registration of the <c>sqs</c> target kind.</summary>
public static class SqsServiceCollectionExtensions
{
    /// <summary>Registers <see cref="SqsTargetKind"/> as an <see cref="ITargetKind"/> singleton (once, however often called).</summary>
    public static IServiceCollection AddSqsTarget(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetKind, SqsTargetKind>());
        return services;
    }
}
