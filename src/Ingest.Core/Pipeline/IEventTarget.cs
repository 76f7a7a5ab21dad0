using Ingest.Core.Events;

namespace Ingest.Core.Pipeline;

/// <summary>Why an event could not be queued.</summary>
public enum EnqueueResult : byte
{
    /// <summary>Queued; the gateway may acknowledge it.</summary>
    Accepted,

    /// <summary>Memory budget or channel full: answer 503 with Retry-After.</summary>
    Full,

    /// <summary>Bigger than the target accepts, envelope included: answer 413.</summary>
    TooLarge,

    /// <summary>The target is draining for shutdown: answer 503.</summary>
    Closed,

    /// <summary>A store the event needed refused it (claim check): answer 502.</summary>
    Failed,
}

/// <summary>An asynchronous destination for events (queue, stream, blackhole).</summary>
public interface IEventTarget : IAsyncDisposable
{
    /// <summary>Target name from the configuration.</summary>
    string Name { get; }

    /// <summary>Events waiting in the channel.</summary>
    int QueuedCount { get; }

    /// <summary>Queues an event without waiting. Synchronous so the request path never blocks.</summary>
    EnqueueResult TryEnqueue(IngestEvent e);

    /// <summary>Stops accepting, sends what is queued, returns when done or when <paramref name="cancellationToken"/> fires.</summary>
    Task DrainAsync(CancellationToken cancellationToken);
}
