namespace Ingest.Core.Events;

/// <summary>
/// One accepted event and its envelope: what a batching writer sends. The body is kept as the
/// exact bytes received; targets decide how to encode it for the wire.
/// </summary>
public sealed class IngestEvent
{
    /// <summary>Gateway event id (UUIDv7); stable across retries, used for deduplication.</summary>
    public required Guid Id { get; init; }

    /// <summary>Receive time, Unix milliseconds.</summary>
    public required long ReceivedAtMs { get; init; }

    /// <summary>Route key, e.g. <c>POST /v1/events</c>.</summary>
    public required string RouteKey { get; init; }

    /// <summary>Client address as the gateway believes it.</summary>
    public string? SourceIp { get; init; }

    /// <summary>Request content type.</summary>
    public string? ContentType { get; init; }

    /// <summary>W3C traceparent the event was received under.</summary>
    public string? TraceParent { get; init; }

    /// <summary>Request headers the route chose to keep (lower-case names). Empty when none.</summary>
    public KeyValuePair<string, string>[] Headers { get; init; } = [];

    /// <summary>The body, byte for byte.</summary>
    public required ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Size counted against the target's batch limit (set by the target on enqueue).</summary>
    public int WireBytes { get; set; }

    /// <summary>Delivery attempts made so far.</summary>
    public int Attempts { get; set; }

    /// <summary>Completed once the event is delivered or dead-lettered (for <c>ack: delivered</c>); null otherwise.</summary>
    public TaskCompletionSource<bool>? Delivered { get; init; }

    /// <summary>
    /// A new event with this one's id and envelope but <paramref name="body"/> and
    /// <paramref name="delivered"/>; wire size and attempts start again (claim-check pointers, replayed spill lines).
    /// </summary>
    public IngestEvent CopyWith(ReadOnlyMemory<byte> body, TaskCompletionSource<bool>? delivered) => new()
    {
        Id = Id,
        ReceivedAtMs = ReceivedAtMs,
        RouteKey = RouteKey,
        SourceIp = SourceIp,
        ContentType = ContentType,
        TraceParent = TraceParent,
        Headers = Headers,
        Body = body,
        Delivered = delivered,
    };

    /// <summary>A header kept in the envelope, or null.</summary>
    public string? Header(string lowerCaseName)
    {
        foreach (var (name, value) in Headers)
        {
            if (string.Equals(name, lowerCaseName, StringComparison.Ordinal))
            {
                return value;
            }
        }
        return null;
    }
}
