using Ingest.Core.Diagnostics;
using Ingest.Core.Events;

namespace Ingest.Core.Pipeline;

/// <summary>Counts and discards events: for testing pipelines and measuring the front door.</summary>
public sealed class BlackholeTarget(string name, IngestMetrics metrics) : IEventTarget
{
    private readonly KeyValuePair<string, object?> _targetTag = new("target", name);
    private long _count;

    public string Name { get; } = name;

    public int QueuedCount => 0;

    /// <summary>Events discarded so far.</summary>
    public long Count => Interlocked.Read(ref _count);

    public EnqueueResult TryEnqueue(IngestEvent e)
    {
        Interlocked.Increment(ref _count);
        metrics.EventsDelivered.Add(1, _targetTag);
        e.Delivered?.TrySetResult(true);
        return EnqueueResult.Accepted;
    }

    public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
