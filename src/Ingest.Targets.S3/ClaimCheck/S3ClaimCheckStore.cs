using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Ingest.Core.Pipeline.ClaimCheck;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.S3.ClaimCheck;

/// <summary>
/// Claim check objects in S3: one PutObject per oversize event (the body byte for byte, its content
/// type, and <c>ingest-event-id</c> / <c>ingest-sha256</c> metadata). With <c>aws.createMissing</c>
/// a missing bucket is created at its first use.
/// </summary>
public sealed partial class S3ClaimCheckStore : IClaimCheckStore, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly bool _createMissing;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task>> _buckets = new(StringComparer.Ordinal);

    public S3ClaimCheckStore(IAmazonS3 client, bool createMissing, ILogger logger)
    {
        _client = client;
        _createMissing = createMissing;
        _logger = logger;
    }

    public async Task PutAsync(ClaimCheckObject item, CancellationToken cancellationToken)
    {
        try
        {
            if (_createMissing)
            {
                await EnsureBucketAsync(item.Bucket, cancellationToken).ConfigureAwait(false);
            }
            var request = new PutObjectRequest
            {
                BucketName = item.Bucket,
                Key = item.Key,
                InputStream = ReadOnly(item.Body),
                AutoCloseStream = true,
                ContentType = item.ContentType ?? "application/octet-stream",
                // Signed in one piece: S3-compatible stores do not all read aws-chunked uploads.
                UseChunkEncoding = false,
            };
            request.Metadata["ingest-event-id"] = item.EventId.ToString("D");
            request.Metadata["ingest-sha256"] = item.Sha256;
            await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (AmazonS3Exception e)
        {
            var status = (int)e.StatusCode;
            var transient = status >= 500 || e.StatusCode == HttpStatusCode.TooManyRequests || e.ErrorCode is "SlowDown" or "RequestTimeout" or "Throttling";
            throw new ClaimCheckException($"S3 PutObject {item.Bucket}/{item.Key} failed: {status} {e.ErrorCode ?? e.GetType().Name}", transient, e);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException or OperationCanceledException or TimeoutException)
        {
            // Timeouts (the SDK's own cancellation included), refused connections, resets: worth a retry.
            throw new ClaimCheckException($"S3 PutObject {item.Bucket}/{item.Key} failed: {e.GetType().Name}: {e.Message}", transient: true, e);
        }
    }

    public async Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        try
        {
            await _client.DeleteObjectAsync(bucket, key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
        {
            LogDeleteFailed(_logger, bucket, key, e.Message);
        }
    }

    private Task EnsureBucketAsync(string bucket, CancellationToken cancellationToken)
    {
        var ensure = _buckets.GetOrAdd(bucket, b => new Lazy<Task>(() => CreateBucketAsync(b)));
        if (ensure.Value.IsFaulted || ensure.Value.IsCanceled)
        {
            // Failed before (S3 down at the time): try again on this request.
            _buckets.TryRemove(new KeyValuePair<string, Lazy<Task>>(bucket, ensure));
            ensure = _buckets.GetOrAdd(bucket, b => new Lazy<Task>(() => CreateBucketAsync(b)));
        }
        return ensure.Value.WaitAsync(cancellationToken);
    }

    private async Task CreateBucketAsync(string bucket)
    {
        try
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = bucket, UseClientRegion = true }).ConfigureAwait(false);
            LogBucketCreated(_logger, bucket);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
            // Already there.
        }
    }

    private static MemoryStream ReadOnly(ReadOnlyMemory<byte> body) =>
        MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);

    public void Dispose() => _client.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Claim check: created S3 bucket {Bucket} (aws.createMissing)")]
    private static partial void LogBucketCreated(ILogger logger, string bucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claim check: could not delete unqueued object s3://{Bucket}/{Key}: {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string bucket, string key, string reason);
}
