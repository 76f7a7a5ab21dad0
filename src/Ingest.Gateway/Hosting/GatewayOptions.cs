namespace Ingest.Gateway.Hosting;

/// <summary>Process-level settings that are not part of a deployment.</summary>
public sealed class GatewayOptions
{
    /// <summary>Longest time to flush queued events on shutdown. Default: 25s (under a typical 30s SIGTERM grace).</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Wraps backend HTTP handlers (fault injection in tests). Default: none.</summary>
    public Func<string, HttpMessageHandler, HttpMessageHandler>? WrapHttpHandler { get; set; }

    /// <summary>Extra service registrations, e.g. additional target kinds. Default: none.</summary>
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>Clock. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
