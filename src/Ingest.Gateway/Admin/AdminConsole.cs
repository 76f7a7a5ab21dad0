using System.Diagnostics.Metrics;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace Ingest.Gateway.Admin;

/// <summary>Registration and start-up of the operations console: admin API, status page, execution log, usage.</summary>
internal static class AdminConsole
{
    /// <summary>Status classes whose request counters start at 0 for every route.</summary>
    private static readonly string[] PrimedStatusClasses = ["2xx", "4xx", "5xx"];

    /// <summary>Reasons of <c>ingest_events_dropped_total</c> known to this build.</summary>
    private static readonly string[] DropReasons = ["buffer_full"];

    public static IServiceCollection AddAdminConsole(this IServiceCollection services)
    {
        services.AddSingleton<ExecutionLogSwitches>();
        services.AddSingleton<UsageCounters>();
        services.AddSingleton<StatusBoard>();
        services.AddSingleton<TargetObserver>();
        services.AddSingleton<DeploymentInfo>();
        services.AddSingleton<TestInvoker>();
        services.AddSingleton<StatusPage>();
        services.AddSingleton<AdminEndpoints>();
        return services;
    }

    /// <summary>
    /// Starts following delivery metrics, publishes every metric name of DESIGN.md at 0 (so the
    /// scrape has them before any component feeds them, and <c>increase()</c> sees the first
    /// event), and notes the deployment once serving.
    /// </summary>
    public static void Start(WebApplication app)
    {
        var services = app.Services;
        // The meter provider must exist before a measurement, or the measurement is lost.
        _ = services.GetService<MeterProvider>();
        _ = services.GetRequiredService<TargetObserver>();
        Prime(services.GetRequiredService<IngestMetrics>(), services.GetRequiredService<IngestConfig>());
        var runtime = services.GetRequiredService<GatewayRuntime>();
        var deployments = services.GetRequiredService<DeploymentInfo>();
        app.Lifetime.ApplicationStarted.Register(() => deployments.Observe(runtime.Current));
    }

    /// <summary>
    /// Exports only instruments of this gateway's own <see cref="IMeterFactory"/>. The SDK subscribes
    /// to meters by name, so without this a second gateway in the same process (tests, side-by-side
    /// hosts) would mix its "Ingest" instruments into this scrape, and its shutdown would end this
    /// gateway's metric streams.
    /// </summary>
    public static MeterProviderBuilder ExportOwnMetersOnly(this MeterProviderBuilder builder)
    {
        if (builder is IDeferredMeterProviderBuilder deferred)
        {
            deferred.Configure((services, meters) =>
            {
                var own = services.GetRequiredService<IMeterFactory>();
                meters.AddView(instrument => ReferenceEquals(instrument.Meter.Scope, own) ? null : MetricStreamConfiguration.Drop);
            });
        }
        return builder;
    }

    internal static void Prime(IngestMetrics metrics, IngestConfig config)
    {
        var stage = new KeyValuePair<string, object?>("stage", "");
        foreach (var route in config.Routes.Select(r => r.Route).Append(""))
        {
            var routeTag = new KeyValuePair<string, object?>("route", route);
            foreach (var statusClass in route.Length == 0 ? ["4xx"] : PrimedStatusClasses)
            {
                metrics.Requests.Add(0, routeTag, stage, new KeyValuePair<string, object?>("status_class", statusClass));
            }
        }
        foreach (var target in config.Targets.Keys)
        {
            var tag = new KeyValuePair<string, object?>("target", target);
            metrics.EventsDelivered.Add(0, tag);
            metrics.EventsRetried.Add(0, tag);
            metrics.EventsDeadLettered.Add(0, tag);
        }
        foreach (var reason in DropReasons)
        {
            metrics.EventsDropped.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
        metrics.EventsAccepted.Add(0);
        metrics.AccessLogDropped.Add(0);
        metrics.LimiterErrors.Add(0);
        metrics.WalFsyncs.Add(0);
        metrics.CacheHits.Add(0);
        metrics.CacheMisses.Add(0);
    }
}
