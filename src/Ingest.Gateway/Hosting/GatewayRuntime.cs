using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Diagnostics;
using Ingest.Core.Pipeline;
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

    /// <summary>The deployment requests are served from.</summary>
    public GatewaySnapshot Current => _current ?? throw new InvalidOperationException("The gateway has not started.");

    /// <summary>Queued bytes of all async targets together.</summary>
    public BufferBudget Budget { get; } = new(config.Memory.BufferBytes);

    /// <summary>True once shutdown began: readiness fails and new events get 503.</summary>
    public bool Draining { get; private set; }

    /// <summary>True once targets are running and the first deployment is active.</summary>
    public bool Ready => _current is not null && !Draining;

    public IReadOnlyDictionary<string, IEventTarget> Targets => _targets;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _targets = await targetFactory.CreateAllAsync(config, Budget, cancellationToken);
        metrics.ObserveGauge("ingest_channel_depth", ObserveChannelDepth, "Events queued per target.");
        _current = GatewaySnapshot.Build(config, _targets, targetFactory.Kinds, services);
        LogStarted(logger, config.Routes.Count, _targets.Count);
    }

    public void BeginDrain() => Draining = true;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Draining = true;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.DrainTimeout);
        var queued = _targets.Values.Sum(t => t.QueuedCount);
        LogDraining(logger, queued);
        await Task.WhenAll(_targets.Values.Select(t => t.DrainAsync(deadline.Token)));
        foreach (var target in _targets.Values)
        {
            await target.DisposeAsync();
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
