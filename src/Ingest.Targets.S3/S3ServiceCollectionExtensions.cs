using Ingest.Core.Pipeline.ClaimCheck;
using Ingest.Targets.S3.ClaimCheck;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.S3;

/// <summary>Registration of the S3 parts: the claim check store.</summary>
public static class S3ServiceCollectionExtensions
{
    /// <summary>Registers <see cref="S3ClaimCheckStoreFactory"/> as the <see cref="IClaimCheckStoreFactory"/> (once, however often called).</summary>
    public static IServiceCollection AddS3ClaimCheck(this IServiceCollection services)
    {
        services.TryAddSingleton<IClaimCheckStoreFactory>(sp => new S3ClaimCheckStoreFactory(sp.GetService<ILoggerFactory>()));
        return services;
    }
}
