using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Diagnostics;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Wal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Hosting;

/// <summary>
/// Owns the running targets and the current deployment. Starts before Kestrel accepts traffic
/// and, because hosted services stop in reverse order, drains after Kestrel has stopped
/// accepting and finished in-flight requests.
/// </summary>
internal sealed partial class GatewayRuntime(
    IngestConfig config,
    TargetFactory targetFactory,
    IngestMetrics metrics,
    GatewayOptions options,
    IServiceProvider services,
    ILogger<GatewayRuntime> logger) : IHostedService
{
    private Dictionary<string, IEventTarget> _targets = [];
    private volatile GatewaySnapshot? _current;
    private long _drainStarted;

    /// <summary>The deployment requests are served from.</summary>
    public GatewaySnapshot Current => _current ?? throw new InvalidOperationException("The gateway has not started.");

    /// <summary>Queued bytes of all async targets together.</summary>
    public BufferBudget Budget { get; } = new(config.Memory.BufferBytes, options.TimeProvider);

    /// <summary>True once shutdown began: readiness fails and new events get 503.</summary>
    public bool Draining { get; private set; }

    /// <summary>True once targets are running and the first deployment is active.</summary>
    public bool Ready => _current is not null && !Draining;

    public IReadOnlyDictionary<string, IEventTarget> Targets => _targets;

    /// <summary>Write-ahead log of <c>ack: durable</c> routes; null when no route needs one.</summary>
    public WriteAheadLog? Wal { get; private set; }

    /// <summary>The current deployment, counted in (<see cref="GatewaySnapshot.Exit"/> when the request is done).</summary>
    public GatewaySnapshot Enter()
    {
        while (true)
        {
            var snapshot = Current;
            snapshot.Enter();
            // Re-checked after counting in: a deployment that swapped in between waits for nobody on the old one.
            if (ReferenceEquals(snapshot, _current))
            {
                return snapshot;
            }
            snapshot.Exit();
        }
    }

    /// <summary>Switches to a new deployment (built by Deployments.DeploymentActivator); returns the one it replaces.</summary>
    internal GatewaySnapshot Activate(GatewaySnapshot snapshot, Dictionary<string, IEventTarget> targets)
    {
        _targets = targets;
        // A deployment that makes a route durable gets the log before its first request.
        Wal ??= WalStartup.OpenIfNeeded(snapshot.Config, services.GetService<IWalFileSystem>() ?? PhysicalWalFileSystem.Instance,
            metrics, services.GetRequiredService<ILoggerFactory>());
        var previous = Current;
        _current = snapshot;
        return previous;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _targets = await targetFactory.CreateAllAsync(config, Budget, cancellationToken);
        metrics.ObserveGauge("ingest_channel_depth", ObserveChannelDepth, "Events queued per target.");
        // Replayed into the targets before any request is served.
        Wal = await WalStartup.OpenAsync(config, _targets, services.GetService<IWalFileSystem>() ?? PhysicalWalFileSystem.Instance,
            metrics, options.TimeProvider, services.GetRequiredService<ILoggerFactory>(), cancellationToken);
        _current = GatewaySnapshot.Build(config, _targets, targetFactory.Kinds, services);
        LogStarted(logger, config.Routes.Count, _targets.Count);
    }

    /// <summary>SIGTERM: readiness fails and new events get 503 at once; the drain deadline starts now.</summary>
    public void BeginDrain()
    {
        if (!Draining)
        {
            _drainStarted = options.TimeProvider.GetTimestamp();
            Draining = true;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        BeginDrain();
        // Kestrel has used part of drainTimeout finishing in-flight requests; targets get the rest.
        // What they cannot deliver by then goes to the spill file.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = (options.DrainTimeout ?? config.DrainTimeout) - options.TimeProvider.GetElapsedTime(_drainStarted);
        deadline.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        var queued = _targets.Values.Sum(t => t.QueuedCount);
        LogDraining(logger, queued);
        await Task.WhenAll(_targets.Values.Select(t => t.DrainAsync(deadline.Token)));
        foreach (var target in _targets.Values)
        {
            await target.DisposeAsync();
        }
        if (Wal is not null)
        {
            // After the targets: their last deliveries write done markers first.
            await Wal.DisposeAsync();
        }
        LogDrained(logger);
    }

    private IEnumerable<System.Diagnostics.Metrics.Measurement<long>> ObserveChannelDepth()
    {
        foreach (var (name, target) in _targets)
        {
            yield return new(target.QueuedCount, new KeyValuePair<string, object?>("target", name));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Routes} routes to {Targets} targets")]
    private static partial void LogStarted(ILogger logger, int routes, int targets);

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: {Queued} events queued")]
    private static partial void LogDraining(ILogger logger, int queued);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drained; exiting")]
    private static partial void LogDrained(ILogger logger);
}
