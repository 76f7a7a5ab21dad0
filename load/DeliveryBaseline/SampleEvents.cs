using System.Text;
using Ingest.Core.Events;

namespace Ingest.Load.DeliveryBaseline;

/// <summary>The events the baseline client sends: the load scenarios' 512-byte JSON body, envelope as the gateway builds it.</summary>
internal static class SampleEvents
{
    public const string RouteKey = "POST /v1/events";
    public const string ContentType = "application/json";
    public const string SourceIp = "127.0.0.1";

    /// <summary>Same bytes as load/post.lua builds (used when no --body-file is given).</summary>
    public static readonly byte[] DefaultBody = BuildDefaultBody();

    /// <summary>An event as the gateway's request handler makes it (new UUIDv7, receive time, trace context).</summary>
    public static IngestEvent Create(ReadOnlyMemory<byte> body) => new()
    {
        Id = Guid.CreateVersion7(),
        ReceivedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        RouteKey = RouteKey,
        SourceIp = SourceIp,
        ContentType = ContentType,
        TraceParent = TraceParent(),
        Body = body,
    };

    /// <summary>A W3C traceparent of the gateway's length (55 characters).</summary>
    public static string TraceParent() =>
        $"00-{Guid.NewGuid():N}-{Guid.NewGuid().ToString("N")[..16]}-01";

    private static byte[] BuildDefaultBody()
    {
        const string Prefix = "{\"device\":\"dev-000042\",\"type\":\"telemetry\",\"ts\":\"2026-11-25T21:14:44.123Z\",\"seq\":1234567,"
            + "\"readings\":{\"temperature\":21.5,\"humidity\":48.2,\"battery\":3.71,\"rssi\":-67},"
            + "\"tags\":[\"load\",\"wrk\",\"ingest\"],\"pad\":\"";
        const string Suffix = "\"}";
        return Encoding.UTF8.GetBytes(Prefix + new string('x', 512 - Prefix.Length - Suffix.Length) + Suffix);
    }
}

/// <summary>One stand-in service the client can fill, count and clean up.</summary>
internal interface IDeliveryBackend : IAsyncDisposable
{
    /// <summary>Creates the queue or stream (with <paramref name="shards"/> for Kinesis); an existing one is kept.</summary>
    Task CreateAsync(int shards, CancellationToken cancellationToken);

    Task DeleteAsync(CancellationToken cancellationToken);

    /// <summary>Resolves the queue or stream and keeps the body and batch size for <see cref="SendBatchAsync"/>.</summary>
    Task PrepareSendAsync(byte[] body, int batchSize, CancellationToken cancellationToken);

    /// <summary>Sends one batch of new events; returns how many the service stored and how many it refused.</summary>
    Task<(int Stored, int Failed)> SendBatchAsync(CancellationToken cancellationToken);

    /// <summary>Messages in the queue / records in the stream (a Kinesis count continues where the last call stopped).</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);
}
