using Ingest.Core.Configuration;

namespace Ingest.Core.Pipeline.ClaimCheck;

/// <summary>One oversize event body to store.</summary>
/// <param name="Bucket">Bucket name.</param>
/// <param name="Key">Object key.</param>
/// <param name="Body">The body, byte for byte.</param>
/// <param name="ContentType">Request content type, or null.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the body.</param>
/// <param name="EventId">The event's id.</param>
public sealed record ClaimCheckObject(string Bucket, string Key, ReadOnlyMemory<byte> Body, string? ContentType, string Sha256, Guid EventId);

/// <summary>Where claim-checked bodies are stored (S3: src/Ingest.Targets.S3).</summary>
public interface IClaimCheckStore
{
    /// <summary>
    /// Stores the object; returns once it is durably stored. Throws <see cref="ClaimCheckException"/>
    /// when it is not, or <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fired.
    /// </summary>
    Task PutAsync(ClaimCheckObject item, CancellationToken cancellationToken);

    /// <summary>Deletes an object whose pointer could not be queued (best effort; never throws).</summary>
    Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken);
}

/// <summary>Creates (and keeps) the store a target's claim check uses.</summary>
public interface IClaimCheckStoreFactory
{
    /// <summary>The store for <paramref name="targetName"/>; calls time out after <paramref name="timeout"/>.</summary>
    IClaimCheckStore Get(string targetName, AwsOptions aws, TimeSpan timeout);
}

/// <summary>The store did not take an object.</summary>
/// <param name="message">What happened, for the access log and the gateway log (never a secret).</param>
/// <param name="transient">True for failures a retry may not meet (timeout, throttling, 5xx, network): 503; false for a refusal (access denied, no such bucket): 502.</param>
/// <param name="inner">The cause.</param>
public sealed class ClaimCheckException(string message, bool transient, Exception? inner = null) : Exception(message, inner)
{
    public bool Transient { get; } = transient;
}
