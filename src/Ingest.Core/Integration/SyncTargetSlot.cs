using Ingest.Core.Events;
using Ingest.Core.Pipeline;

namespace Ingest.Core.Integration;

/// <summary>
/// A running sync target among the running targets of a deployment, so that deployments keep,
/// start and retire it exactly as they do queues: kept when its settings did not change, disposed
/// once the requests still using a replaced deployment have finished. It never takes events.
/// </summary>
public sealed class SyncTargetSlot(ISyncTarget target) : IEventTarget
{
    /// <summary>The target requests call.</summary>
    public ISyncTarget Target { get; } = target;

    public string Name => Target.Name;

    public int QueuedCount => 0;

    /// <summary>Sync routes never queue; a caller that tries is told the target is closed.</summary>
    public EnqueueResult TryEnqueue(IngestEvent e) => EnqueueResult.Closed;

    /// <summary>Nothing is queued: in-flight calls finish with their requests.</summary>
    public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => Target.DisposeAsync();

    /// <summary>
    /// The root settings a sync target may read when it is created (compat, AWS, binary media types):
    /// a deployment that changes them recreates sync targets even when their own settings are the same.
    /// </summary>
    public static string RootSettings(Configuration.IngestConfig config) =>
        Configuration.ConfigJson.Serialize(new Configuration.RootSettings(config.Compat, config.Aws, config.BinaryMediaTypes));
}
