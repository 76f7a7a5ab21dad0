using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Requests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Core.Pipeline.ClaimCheck;

/// <summary>
/// The claim check of a target (<c>claimCheck: { bucket, prefix, thresholdBytes }</c>): an event
/// whose body is above the threshold, or that the target refuses as too large, is stored whole in
/// the claim check store and a pointer goes to the target instead:
/// <c>{"claimCheck":{"bucket":..,"key":..,"bytes":..,"sha256":..,"contentType":..}}</c>, with the
/// event's id and envelope.
/// </summary>
/// <remarks>
/// <para>The pointer is queued only after the object is stored, so a pointer never names a missing
/// object. When the pointer cannot be queued (buffer full), the object is deleted again.</para>
/// <para>The object key is <c>prefix</c> + the event id (UUIDv7, chosen by the gateway): a consumer
/// can check that a pointer's key matches the message's <c>ingest-event-id</c>, which a client
/// sending a pointer-shaped body of its own cannot forge.</para>
/// <para>Store failures: timeouts, throttling, 5xx and network errors are 503 (Retry-After: 1);
/// refusals (access denied, no such bucket) are 502 <c>Internal server error</c>; the reason goes to
/// the access log.</para>
/// </remarks>
public sealed partial class ClaimCheckPolicy
{
    /// <summary>502 of a store that refused the object.</summary>
    public static readonly Rejection StoreRefused = new(502, "Internal server error");

    private readonly string _target;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly long _threshold;
    private readonly IClaimCheckStore _store;
    private readonly ILogger _logger;

    private ClaimCheckPolicy(string target, ClaimCheckOptions options, long threshold, IClaimCheckStore store, ILogger logger)
    {
        _target = target;
        _bucket = options.Bucket;
        _prefix = options.Prefix;
        _threshold = threshold;
        _store = store;
        _logger = logger;
    }

    /// <summary>Bodies larger than this are stored even when the target would take them.</summary>
    public long ThresholdBytes => _threshold;

    /// <summary>The claim check of <paramref name="targetName"/>, or null when it has none.</summary>
    public static ClaimCheckPolicy? Compile(IngestConfig config, string targetName, IReadOnlyDictionary<string, ITargetKind> kinds, IServiceProvider services)
    {
        if (!config.Targets.TryGetValue(targetName, out var target) || target.ClaimCheck is not { } options)
        {
            return null;
        }
        var factory = services.GetService<IClaimCheckStoreFactory>()
            ?? throw new InvalidOperationException($"targets.{targetName}.claimCheck: no claim check store is registered (services.AddS3ClaimCheck()).");
        var threshold = options.ThresholdBytes
            ?? (kinds.TryGetValue(target.Type, out var kind) ? kind.ServiceLimits(target).MaxRecordBytes : long.MaxValue);
        var store = factory.Get(targetName, config.Aws, target.Timeout ?? config.Defaults.Timeout);
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger<ClaimCheckPolicy>() ?? NullLogger<ClaimCheckPolicy>.Instance;
        return new ClaimCheckPolicy(targetName, options, threshold, store, logger);
    }

    /// <summary>
    /// Queues <paramref name="e"/>, or stores it and queues its pointer. Completes synchronously
    /// for events that need no claim check. <see cref="EnqueueResult.Failed"/> means the store
    /// refused it (answer <see cref="StoreRefused"/>); a transient store failure is
    /// <see cref="EnqueueResult.Full"/> (503). The reason is put in <see cref="RequestContext.RejectionReason"/>.
    /// </summary>
    public ValueTask<EnqueueResult> EnqueueAsync(IEventTarget target, IngestEvent e, RequestContext context)
    {
        if (e.Body.Length <= _threshold)
        {
            var result = target.TryEnqueue(e);
            if (result != EnqueueResult.TooLarge)
            {
                return new(result);
            }
        }
        return StoreAndEnqueueAsync(target, e, context);
    }

    private async ValueTask<EnqueueResult> StoreAndEnqueueAsync(IEventTarget target, IngestEvent e, RequestContext context)
    {
        var item = new ClaimCheckObject(_bucket, _prefix + e.Id.ToString("D"), e.Body, e.ContentType, Convert.ToHexStringLower(SHA256.HashData(e.Body.Span)), e.Id);
        try
        {
            await _store.PutAsync(item, context.Http.RequestAborted).ConfigureAwait(false);
        }
        catch (ClaimCheckException failure)
        {
            context.RejectionReason = $"claim check: {failure.Message}";
            LogStoreFailed(_logger, _target, item.Bucket, item.Key, failure.Message);
            return failure.Transient ? EnqueueResult.Full : EnqueueResult.Failed;
        }
        context.Trace?.Write($"Claim check: {e.Body.Length} bytes stored as s3://{item.Bucket}/{item.Key}");

        var pointer = e.CopyWith(Pointer(item, e.Body.Length), e.Delivered);
        var result = target.TryEnqueue(pointer);
        if (result != EnqueueResult.Accepted)
        {
            // Not acknowledged: do not leave the object behind for a retry to duplicate.
            await _store.DeleteAsync(item.Bucket, item.Key, CancellationToken.None).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>The pointer message body.</summary>
    public static byte[] Pointer(ClaimCheckObject item, long bytes)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("claimCheck");
            json.WriteString("bucket", item.Bucket);
            json.WriteString("key", item.Key);
            json.WriteNumber("bytes", bytes);
            json.WriteString("sha256", item.Sha256);
            if (item.ContentType is null)
            {
                json.WriteNull("contentType");
            }
            else
            {
                json.WriteString("contentType", item.ContentType);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: claim check object s3://{Bucket}/{Key} not stored: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string target, string bucket, string key, string reason);
}
