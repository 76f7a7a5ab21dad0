using Ingest.Gateway.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Deployments;

/// <summary>
/// At start, records the configuration file the gateway serves as a deployment (or notes which
/// recorded deployment it came from) and starts the <c>watch: true</c> watcher; at stop, waits for
/// replaced targets still draining. Registered after the runtime, so it starts after the first
/// snapshot exists and stops before the runtime drains.
/// </summary>
internal sealed partial class DeploymentService(
    GatewayRuntime runtime,
    DeploymentActivator activator,
    GatewayOptions options,
    ILogger<DeploymentService> logger) : IHostedService
{
    private ConfigFileWatcher? _watcher;

    /// <summary>The watcher of <see cref="GatewayOptions.ConfigFile"/>; null without one.</summary>
    internal ConfigFileWatcher? Watcher => _watcher;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.ConfigFile is not { } file)
        {
            return Task.CompletedTask;
        }
        try
        {
            RecordStart(file);
        }
        catch (IOException e)
        {
            LogNotRecorded(logger, file, activator.Store.Path, e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            LogNotRecorded(logger, file, activator.Store.Path, e.Message);
        }
        _watcher = new ConfigFileWatcher(file, runtime, activator, options.TimeProvider, logger);
        return Task.CompletedTask;
    }

    private void RecordStart(string file)
    {
        var store = activator.Store;
        if (options.StartedFromDeployment is { } number && store.Get(number) is { } recorded)
        {
            activator.Started(recorded);
            return;
        }
        var content = File.ReadAllText(file);
        var sha256 = DeploymentStore.Sha256(content);
        // A file that was recorded before (a restart, or a file put back) is that deployment again, not a new one.
        var record = store.List().LastOrDefault(r => r.Sha256 == sha256)
            ?? store.Record(content, "serve --config", Path.GetFullPath(file));
        activator.Started(record);
        LogServing(logger, record.Number, file);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _watcher?.Dispose();
        if (_watcher is not null)
        {
            await _watcher.Deploying.WaitAsync(cancellationToken);
        }
        await activator.RetirementsAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving deployment {Number} ({File})")]
    private static partial void LogServing(ILogger logger, int number, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File} is served but could not be recorded under {Path}: {Reason}")]
    private static partial void LogNotRecorded(ILogger logger, string file, string path, string reason);
}

/// <summary>Registration of deployments: the activator, the admin API part and the start/watch service.</summary>
internal static class DeploymentServiceCollectionExtensions
{
    public static IServiceCollection AddDeployments(this IServiceCollection services)
    {
        services.AddSingleton<DeploymentActivator>();
        services.AddSingleton<DeploymentEndpoints>();
        services.AddSingleton<DeploymentService>();
        services.AddHostedService(sp => sp.GetRequiredService<DeploymentService>());
        return services;
    }
}
