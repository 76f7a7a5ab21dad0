using Ingest.Core.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Targets.Http;

/// <summary>Registration of the <c>http</c> target kind.</summary>
public static class HttpServiceCollectionExtensions
{
    /// <summary>Registers <see cref="HttpTargetKind"/> as an <see cref="ISyncTargetKind"/> and YARP's forwarder (once, however often called).</summary>
    public static IServiceCollection AddHttpTarget(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISyncTargetKind, HttpTargetKind>());
        if (!services.Any(d => d.ServiceType == typeof(Yarp.ReverseProxy.Forwarder.IHttpForwarder)))
        {
            services.AddHttpForwarder();
        }
        return services;
    }
}
