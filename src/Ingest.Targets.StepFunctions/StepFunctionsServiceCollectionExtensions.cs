using Ingest.Core.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Targets.StepFunctions;

public static class StepFunctionsServiceCollectionExtensions
{
    /// <summary>Registers <c>type: stepfunctions</c>.</summary>
    public static IServiceCollection AddStepFunctionsTarget(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISyncTargetKind, StepFunctionsTargetKind>());
        return services;
    }
}
