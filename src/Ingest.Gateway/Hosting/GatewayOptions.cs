namespace Ingest.Gateway.Hosting;

/// <summary>Process-level settings that are not part of a deployment.</summary>
public sealed class GatewayOptions
{
    /// <summary>Longest time from SIGTERM to exit; overrides the configuration's <c>drainTimeout</c>. Default: null (the configuration's, 25s unless set).</summary>
    public TimeSpan? DrainTimeout { get; set; }

    /// <summary>Wraps backend HTTP handlers (fault injection in tests). Default: none.</summary>
    public Func<string, HttpMessageHandler, HttpMessageHandler>? WrapHttpHandler { get; set; }

    /// <summary>Extra service registrations, e.g. additional target kinds. Default: none.</summary>
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>
    /// The configuration file the gateway runs from: recorded as a deployment at start (unless
    /// <see cref="StartedFromDeployment"/> is set), watched with <c>watch: true</c>, and the folder
    /// relative <c>${file:...}</c> paths of deployments resolve against. Default: none (nothing recorded or watched).
    /// </summary>
    public string? ConfigFile { get; set; }

    /// <summary>Number of the recorded deployment the configuration was loaded from (<c>serve --deployment</c>); it is not recorded again. Default: none.</summary>
    public int? StartedFromDeployment { get; set; }

    /// <summary>Clock. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
