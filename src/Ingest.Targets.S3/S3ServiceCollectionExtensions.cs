using Ingest.Core.Integration;
using Ingest.Core.Pipeline.ClaimCheck;
using Ingest.Targets.S3.ClaimCheck;
using Ingest.Targets.S3.Objects;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.S3;

/// <summary>Registration of the S3 parts: the claim check store and the s3 sync target.</summary>
public static class S3ServiceCollectionExtensions
{
    /// <summary>Registers <see cref="S3ClaimCheckStoreFactory"/> as the <see cref="IClaimCheckStoreFactory"/> (once, however often called).</summary>
    public static IServiceCollection AddS3ClaimCheck(this IServiceCollection services)
    {
        services.TryAddSingleton<IClaimCheckStoreFactory>(sp => new S3ClaimCheckStoreFactory(sp.GetService<ILoggerFactory>()));
        return services;
    }

    /// <summary>Registers the <c>type: s3</c> sync target kind (once, however often called).</summary>
    public static IServiceCollection AddS3Target(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISyncTargetKind, S3TargetKind>());
        return services;
    }
}
