using System.Net;
using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Diagnostics;
using Ingest.Core.Idempotency;
using Ingest.Core.Pipeline;
using Ingest.Core.Security;
using Ingest.Core.Throttling;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Admin;
using Ingest.Gateway.Deployments;
using Ingest.Gateway.Hosting.Tls;
using Ingest.Gateway.Requests;
using Ingest.Gateway.WebSockets;
using Ingest.Targets.DynamoDb;
using Ingest.Targets.Http;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Lambda;
using Ingest.Targets.S3;
using Ingest.Targets.Sqs;
using Ingest.Targets.StepFunctions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Metrics;

namespace Ingest.Gateway.Hosting;

/// <summary>Builds the gateway process: Kestrel listeners, admin port, targets, request pipeline.</summary>
public static class GatewayHost
{
    /// <summary>Target kinds this build has. A new kind is one project plus one line here.</summary>
    public static IServiceCollection AddTargetKinds(this IServiceCollection services) =>
        services.AddSqsTarget().AddKinesisTarget().AddS3ClaimCheck().AddS3Target()
            .AddHttpTarget().AddDynamoDbTarget().AddLambdaTarget().AddStepFunctionsTarget();

    /// <summary>Builds (does not start) a gateway for a validated configuration.</summary>
    public static WebApplication Build(IngestConfig config, GatewayOptions? options = null)
    {
        options ??= new GatewayOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        // stdout carries the access log; the gateway's own log lines go to stderr.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // YARP logs every forwarded request at Information; the access log has them already.
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = (options.DrainTimeout ?? config.DrainTimeout) + TimeSpan.FromSeconds(5));
        var endpoints = new GatewayEndpoints();
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, config, endpoints));

        var services = builder.Services;
        services.AddSingleton(config);
        services.AddSingleton(options);
        services.AddSingleton(endpoints);
        services.AddSingleton(options.TimeProvider);
        services.AddTargetKinds();
        services.AddIngestSecurity();
        services.AddIngestAuth();
        services.AddIngestThrottling();
        services.AddIngestIdempotency();
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton(sp => new Ingest.Core.Caching.ResponseCaches(options.TimeProvider));
        services.AddSingleton(sp => new TargetFactory(
            sp.GetServices<ITargetKind>(),
            sp.GetRequiredService<IngestMetrics>(),
            sp.GetRequiredService<ILoggerFactory>(),
            options.TimeProvider,
            options.WrapHttpHandler,
            sp.GetServices<Ingest.Core.Integration.ISyncTargetKind>(),
            sp));
        // Registration order matters: the runtime starts first and stops last, after Kestrel.
        services.AddSingleton<AccessLogWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<AccessLogWriter>());
        services.AddSingleton<GatewayRuntime>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayRuntime>());
        services.AddDeployments();
        services.AddSingleton<Integration.SyncInvoker>();
        services.AddSingleton<IngestRequestHandler>();
        services.AddSingleton<TlsListeners>();
        services.AddAdminConsole();
        services.AddIngestWebSockets();
        options.ConfigureServices?.Invoke(services);
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(IngestMetrics.MeterName).ExportOwnMetersOnly().AddPrometheusExporter());

        var app = builder.Build();
        var targetFactory = app.Services.GetRequiredService<TargetFactory>();
        var errors = ConfigValidator.Validate(config, targetFactory.Kinds, targetFactory.SyncKinds);
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }
        var runtime = app.Services.GetRequiredService<GatewayRuntime>();
        app.Lifetime.ApplicationStopping.Register(runtime.BeginDrain);
        var handler = app.Services.GetRequiredService<IngestRequestHandler>();
        AdminConsole.Start(app);
        var adminEndpoints = app.Services.GetRequiredService<AdminEndpoints>();
        app.MapWhen(endpoints.IsAdmin, admin =>
        {
            admin.UseOpenTelemetryPrometheusScrapingEndpoint("/metrics");
            admin.Run(adminEndpoints.HandleAsync);
        });
        TlsListeners.UseRedirectsAndHsts(app, config);
        app.UseIngestWebSockets();
        app.Run(handler.HandleAsync);
        return app;
    }

    private static void ConfigureKestrel(KestrelServerOptions kestrel, IngestConfig config, GatewayEndpoints endpoints)
    {
        kestrel.AddServerHeader = false;
        // Routes set their own limit per request; this is the ceiling.
        kestrel.Limits.MaxRequestBodySize = config.Routes.Select(r => r.MaxBodyBytes ?? config.Defaults.MaxBodyBytes).Append(config.Defaults.MaxBodyBytes).Max() + 1;
        // Header count/size, request line, header timeout (slowloris), data rates: the limits: section.
        ConnectionLimits.Apply(kestrel.Limits, config.Limits);
        kestrel.Limits.Http2.MaxStreamsPerConnection = 256;
        var listeners = config.Listen.Count > 0 ? config.Listen : [new ListenerOptions { Address = "127.0.0.1:8080" }];
        foreach (var listener in listeners)
        {
            kestrel.Listen(IPEndPoint.Parse(listener.Address), listen =>
            {
                listen.Protocols = listener.Protocols switch
                {
                    "http1" => HttpProtocols.Http1,
                    "http2" => HttpProtocols.Http2,
                    _ => HttpProtocols.Http1AndHttp2,
                };
                if (listener.Tls is not null)
                {
                    kestrel.ApplicationServices.GetRequiredService<TlsListeners>().Configure(kestrel, listen, listener);
                }
                endpoints.Public.Add(listen);
            });
        }
        kestrel.Listen(IPEndPoint.Parse(config.Admin.Listen), listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            endpoints.Admin = listen;
        });
    }
}

/// <summary>The bound listeners (ports resolved after start, so tests can use port 0).</summary>
public sealed class GatewayEndpoints
{
    private int _adminPort = -1;

    internal List<ListenOptions> Public { get; } = [];

    internal ListenOptions? Admin { get; set; }

    /// <summary>Public listener addresses after start.</summary>
    public IReadOnlyList<IPEndPoint> PublicEndPoints => Public.Select(l => l.IPEndPoint!).ToList();

    /// <summary>Admin listener address after start.</summary>
    public IPEndPoint AdminEndPoint => Admin!.IPEndPoint!;

    internal bool IsAdmin(HttpContext context)
    {
        if (_adminPort < 0)
        {
            _adminPort = AdminEndPoint.Port;
        }
        return context.Connection.LocalPort == _adminPort;
    }
}
