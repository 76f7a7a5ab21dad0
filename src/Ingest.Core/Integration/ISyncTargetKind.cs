using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Integration;

/// <summary>What a sync target kind gets to build a target.</summary>
/// <param name="Config">The whole configuration (aws endpoints and credentials, binary media types, stages).</param>
/// <param name="LoggerFactory">Logging.</param>
/// <param name="TimeProvider">Clock.</param>
/// <param name="Services">Long-lived gateway services (e.g. shared HTTP handlers).</param>
/// <param name="WrapHttpHandler">Optional wrapper around the HTTP handler of backend calls (fault injection in tests); called with the target name and the inner handler.</param>
/// <param name="Metrics">The gateway's instruments; null: none.</param>
public sealed record SyncTargetContext(
    IngestConfig Config,
    ILoggerFactory LoggerFactory,
    TimeProvider TimeProvider,
    IServiceProvider Services,
    Func<string, HttpMessageHandler, HttpMessageHandler>? WrapHttpHandler = null,
    IngestMetrics? Metrics = null);

/// <summary>
/// One kind of synchronous (request/response) target: http, lambda, dynamodb, s3, stepfunctions.
/// Adding a kind is one project with an implementation of this interface plus one registration
/// (<c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;ISyncTargetKind, MyKind&gt;())</c>).
/// </summary>
public interface ISyncTargetKind
{
    /// <summary>The <c>type:</c> value in the configuration.</summary>
    string Type { get; }

    /// <summary>Adds one message per problem with the target's settings, each naming the fix (prefix <c>targets.NAME.</c>).</summary>
    void Validate(string name, TargetOptions options, IngestConfig config, ICollection<string> errors);

    /// <summary>Adds one message per problem with a route that uses this target (e.g. a key template naming a path parameter the route does not have).</summary>
    void ValidateRoute(string where, RouteOptions route, TargetOptions options, ICollection<string> errors)
    {
    }

    /// <summary>Creates the target. Called once per deployment that adds or changes it; disposed when retired.</summary>
    ISyncTarget Create(string name, TargetOptions options, SyncTargetContext context);
}
