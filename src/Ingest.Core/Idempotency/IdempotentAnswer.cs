using System.Buffers.Binary;
using System.Text;

namespace Ingest.Core.Idempotency;

/// <summary>The first answer to a request with an idempotency key: what a retry gets back.</summary>
/// <param name="Status">HTTP status (2xx only: other answers are not remembered).</param>
/// <param name="RequestId">x-request-id of the first request.</param>
/// <param name="ContentType">Content type of the body, or null.</param>
/// <param name="Body">The response body, byte for byte.</param>
public sealed record IdempotentAnswer(int Status, Guid RequestId, string? ContentType, byte[] Body)
{
    // Layout: status (2 bytes) | request id (16) | content type length (2) | content type (UTF-8) | body.
    private const int FixedBytes = 2 + 16 + 2;

    /// <summary>The stored form (Redis value, after its one-byte tag).</summary>
    public byte[] Encode()
    {
        var type = ContentType is null ? [] : Encoding.UTF8.GetBytes(ContentType);
        var bytes = new byte[FixedBytes + type.Length + Body.Length];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)Status);
        RequestId.TryWriteBytes(bytes.AsSpan(2), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(18), (ushort)type.Length);
        type.CopyTo(bytes.AsSpan(FixedBytes));
        Body.CopyTo(bytes.AsSpan(FixedBytes + type.Length));
        return bytes;
    }

    /// <summary>Reads what <see cref="Encode"/> wrote; null when the bytes are not an answer.</summary>
    public static IdempotentAnswer? Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < FixedBytes)
        {
            return null;
        }
        var status = BinaryPrimitives.ReadUInt16BigEndian(bytes);
        var requestId = new Guid(bytes.Slice(2, 16), bigEndian: true);
        var typeLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[18..]);
        if (bytes.Length < FixedBytes + typeLength)
        {
            return null;
        }
        var type = typeLength == 0 ? null : Encoding.UTF8.GetString(bytes.Slice(FixedBytes, typeLength));
        return new IdempotentAnswer(status, requestId, type, bytes[(FixedBytes + typeLength)..].ToArray());
    }
}

/// <summary>What claiming a key found.</summary>
public enum ClaimOutcome : byte
{
    /// <summary>Nobody had the key: this request runs and its answer is remembered.</summary>
    Claimed,

    /// <summary>A request with the same key is still running.</summary>
    InProgress,

    /// <summary>The key was answered within the window: <see cref="IdempotencyClaim.Answer"/> holds it.</summary>
    Answered,

    /// <summary>The local table is full of requests still running: nothing can be remembered now.</summary>
    Full,
}

/// <summary>The result of <see cref="IIdempotencyStore.TryClaimAsync"/>.</summary>
public readonly record struct IdempotencyClaim(ClaimOutcome Outcome, IdempotentAnswer? Answer = null)
{
    public static IdempotencyClaim Claimed => new(ClaimOutcome.Claimed);

    public static IdempotencyClaim InProgress => new(ClaimOutcome.InProgress);

    public static IdempotencyClaim Full => new(ClaimOutcome.Full);
}

/// <summary>Where idempotency keys live: one instance's memory, or Redis shared by all instances.</summary>
public interface IIdempotencyStore
{
    /// <summary>
    /// Marks <paramref name="key"/> as running under <paramref name="token"/> for at most
    /// <paramref name="inFlight"/> (so a crashed request does not block its key for long), unless
    /// it is already running or answered.
    /// </summary>
    ValueTask<IdempotencyClaim> TryClaimAsync(string key, string token, TimeSpan inFlight);

    /// <summary>Remembers the answer of the request that claimed the key, for <paramref name="window"/>.</summary>
    ValueTask CompleteAsync(string key, string token, IdempotentAnswer answer, TimeSpan window);

    /// <summary>Forgets the claim (the answer was not a 2xx): a retry runs for real.</summary>
    ValueTask ReleaseAsync(string key, string token);
}
