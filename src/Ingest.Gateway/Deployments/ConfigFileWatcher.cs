using Ingest.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Deployments;

/// <summary>
/// <c>watch: true</c>: deploys the configuration file again when it changes on disk. Editors write
/// a file in several steps (truncate, write, rename), so a deploy waits until the file has been
/// quiet for <c>deployments.watchDebounce</c>; an unchanged file (same SHA-256 as the active
/// deployment) is not deployed again. A bad file is refused and logged; the old one keeps serving.
/// </summary>
internal sealed partial class ConfigFileWatcher : IDisposable
{
    private readonly string _file;
    private readonly GatewayRuntime _runtime;
    private readonly DeploymentActivator _activator;
    private readonly ILogger _logger;
    private readonly FileSystemWatcher _watcher;
    private readonly ITimer _quiet;
    private readonly Lock _gate = new();
    private Task _deploying = Task.CompletedTask;

    public ConfigFileWatcher(string file, GatewayRuntime runtime, DeploymentActivator activator, TimeProvider time, ILogger logger)
    {
        _file = Path.GetFullPath(file);
        _runtime = runtime;
        _activator = activator;
        _logger = logger;
        _quiet = time.CreateTimer(_ => OnQuiet(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_file)!, Path.GetFileName(_file))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Changed();
        _watcher.Created += (_, _) => Changed();
        _watcher.Renamed += (_, _) => Changed();
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>The last deploy the watcher started (tests and shutdown wait for it).</summary>
    public Task Deploying
    {
        get
        {
            lock (_gate)
            {
                return _deploying;
            }
        }
    }

    private void Changed()
    {
        if (_runtime.Current.Config.Watch)
        {
            // Every change restarts the quiet period.
            _quiet.Change(_runtime.Current.Config.Deployments.WatchDebounce, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnQuiet()
    {
        lock (_gate)
        {
            _deploying = _deploying.ContinueWith(_ => DeployAsync(), TaskScheduler.Default).Unwrap();
        }
    }

    private async Task DeployAsync()
    {
        string content;
        try
        {
            content = await File.ReadAllTextAsync(_file);
        }
        catch (IOException e)
        {
            // Deleted or being replaced: the next change event brings it back.
            LogUnreadable(_logger, _file, e.Message);
            return;
        }
        if (_activator.Active?.Sha256 == DeploymentStore.Sha256(content))
        {
            return;
        }
        LogChanged(_logger, _file);
        try
        {
            await _activator.DeployAsync(content, "watch: file changed", _file, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The activator logs refusals itself; this is anything else, e.g. the record could not be written.
            LogFailed(_logger, _file, e.Message);
        }
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _quiet.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{File} changed: deploying it (watch: true)")]
    private static partial void LogChanged(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File} changed but cannot be read yet: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string file, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Deploying {File} after a change failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string file, string reason);
}
